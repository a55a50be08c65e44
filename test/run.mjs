// Runs every compiled test file under dist/test with Node's built-in test runner.
// (Node 20's `node --test` takes no globs, so the files are listed here.)
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';

const root = new URL('../dist/test/', import.meta.url).pathname;
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
})(root);
if (files.length === 0) {
  console.error('no test files found under dist/test');
  process.exit(1);
}
const filter = process.argv.slice(2);
const selected = filter.length ? files.filter((f) => filter.some((s) => f.includes(s))) : files;
// A watchdog for the whole run: a test process stuck in native code (no JS timer can fire there)
// must fail the run in minutes, not hold CI until its own limit. The runner gets its own process
// group so the stuck test process (a grandchild) dies with it and releases the output pipe.
const LIMIT_MS = 20 * 60 * 1000;
const child = spawn(process.execPath, ['--test', '--test-concurrency=2', ...selected], { stdio: 'inherit', detached: true });
const killRun = () => {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
};
// Its own group no longer gets the terminal's Ctrl-C, so pass it on.
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => (killRun(), process.exit(130)));
const timer = setTimeout(() => {
  console.error(`test run stopped: still running after ${LIMIT_MS / 60000} minutes (a test process is stuck)`);
  killRun();
  process.exit(1);
}, LIMIT_MS);
child.on('exit', (code, signal) => {
  clearTimeout(timer);
  process.exit(code ?? (signal ? 1 : 0));
});
