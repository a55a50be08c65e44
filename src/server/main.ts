#!/usr/bin/env node
/** Standalone entry: `node dist/src/server/main.js [DIR] [flags]` = `modelseal serve [DIR] [flags]`. */
import { serveCommand } from './index.js';

process.exitCode = await serveCommand(process.argv.slice(2));
