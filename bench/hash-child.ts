/**
 * One measured hashing run, in its own process: walk a folder, hash it with the engine, print one JSON
 * line. The bench times the whole process from outside; this reports the hashing call alone
 * ("in-proc"), so Node's start-up and the walk are separated from the engine's speed.
 *
 *   node dist/bench/hash-child.js DIR [--algo sha256|blake2b|blake3] [--shard-size N] [--max-workers N] [--no-main-thread]
 */
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { hashJobs } from '../src/hashing/engine.js';
import { alignedBuffer } from '../src/hashing/loop.js';
import type { HashJob } from '../src/hashing/types.js';
import type { HashAlgorithm } from '../src/manifest/types.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

function walk(dir: string, out: { path: string; size: number }[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile()) out.push({ path: p, size: statSync(p).size });
  }
}

const root = process.argv[2]!;
const algorithm = (arg('algo') ?? 'sha256') as HashAlgorithm;
const shardSize = arg('shard-size') ? Number(arg('shard-size')) : undefined;
const maxWorkers = arg('max-workers') ? Number(arg('max-workers')) : undefined;

const files: { path: string; size: number }[] = [];
if (statSync(root).isFile()) files.push({ path: root, size: statSync(root).size });
else walk(root, files);
const jobs: HashJob[] = [];
for (const f of files) {
  if (shardSize === undefined) jobs.push({ path: f.path, start: 0, end: f.size });
  else for (let s = 0; s < f.size; s += shardSize) jobs.push({ path: f.path, start: s, end: Math.min(s + shardSize, f.size) });
}
const bytes = jobs.reduce((n, j) => n + j.end - j.start, 0);

if (process.argv.includes('--read-only')) {
  // The copy alone (page cache -> page-aligned 1 MiB buffer, one thread, no hash): the part of the
  // cost no read()-based design can avoid, since Node has no mmap.
  const buf = alignedBuffer();
  const t = performance.now();
  for (const j of jobs) {
    const fd = openSync(j.path, 'r');
    for (let pos = j.start; pos < j.end; ) pos += readSync(fd, buf, 0, Math.min(buf.length, j.end - pos), pos) || j.end;
    closeSync(fd);
  }
  const s = (performance.now() - t) / 1000;
  process.stdout.write(JSON.stringify({ bytes, jobs: jobs.length, hashSeconds: s, sinceStartSeconds: performance.now() / 1000, maxRssKiB: process.resourceUsage().maxRSS }) + '\n');
  process.exit(0);
}

let progressed = 0;
const t0 = performance.now();
const digests = await hashJobs(jobs, {
  algorithm,
  ...(maxWorkers !== undefined ? { maxWorkers } : {}),
  ...(process.argv.includes('--no-main-thread') ? { useMainThread: false } : {}),
  onProgress: (b) => (progressed += b),
});
const t1 = performance.now();
if (progressed !== bytes) throw new Error(`progress ${progressed} != ${bytes}`);
process.stdout.write(
  JSON.stringify({
    bytes,
    jobs: jobs.length,
    hashSeconds: (t1 - t0) / 1000,
    // performance.now() counts from process start: everything up to the last digest.
    sinceStartSeconds: t1 / 1000,
    maxRssKiB: process.resourceUsage().maxRSS,
    first: digests[0],
  }) + '\n',
);
