/** Where things are, wherever the compiled tests live (dist/ or a private .build/<name>/ outDir). */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findProjectRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'tsconfig.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no project root above ${start}`);
    dir = up;
  }
}

/** The directory holding this project's package.json (the repository root). */
export const PROJECT_ROOT = findProjectRoot(dirname(fileURLToPath(import.meta.url)));
/** ../shared next to the project: spec, vectors, data (read-only). */
export const SHARED = resolve(PROJECT_ROOT, '..', 'shared');
export const VECTORS = join(SHARED, 'vectors');
export const MT_VECTORS = join(VECTORS, 'model-transparency');
export const MT_KEYS = join(MT_VECTORS, 'keys', 'certificate');
export const OMS_SCHEMAS = join(VECTORS, 'oms-spec', 'schemas');
export const OMS_BUNDLES = join(VECTORS, 'oms-spec', 'bundles');
/** The compiled sources next to the compiled tests (dist/src or .build/<name>/src). */
export const COMPILED_SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');
/** The compiled CLI entry point, for tests that run the CLI as a real process. */
export const CLI_MAIN = join(COMPILED_SRC, 'cli', 'main.js');
