/** Temporary folders for tests: made fresh, removed after. */
import { cpSync, mkdtempSync, mkdirSync, rmSync, writeFileSync, chmodSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after } from 'node:test';

const made: string[] = [];
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix = 'modelseal-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}

/** Write files given as { 'a/b.txt': 'content' } under a new temp folder (or `root`). */
export function makeModel(files: Record<string, string | Buffer>, root = join(tempDir(), 'model')): string {
  mkdirSync(root, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    const p = join(root, ...name.split('/'));
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
  return root;
}

/** Copy a read-only vector folder somewhere writable (tests tamper with the copy, never the original). */
export function copyWritable(src: string): string {
  const dst = join(tempDir(), src.split('/').pop()!);
  cpSync(src, dst, { recursive: true });
  const fix = (p: string): void => {
    const st = statSync(p);
    chmodSync(p, st.isDirectory() ? 0o755 : 0o644);
    if (st.isDirectory()) for (const n of readdirSync(p)) fix(join(p, n));
  };
  fix(dst);
  return dst;
}
