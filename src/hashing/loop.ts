/**
 * The per-thread read+hash loop, shared by the calling thread and the workers.
 *
 * Positional `readSync` into one reused, page-aligned 1 MiB buffer: it measured fastest when all cores
 * are busy (the copy lands in the hashing core's own L2), positional reads let several threads hash
 * shards of one file at once, and memory stays flat whatever the file size.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { fail } from '../errors.js';
import type { HasherFactory } from './algorithms.js';

// lib is ES2022 without DOM, and @types/node 20 does not declare WebAssembly: the one member used here.
declare const WebAssembly: { Memory: new (d: { initial: number; maximum?: number }) => { buffer: ArrayBuffer } };

/** Read size: 1-4 MiB measured best; above 4 MiB the buffer falls out of L2. */
export const CHUNK_SIZE = 1 << 20;

/**
 * A page-aligned buffer. Node's large Buffers/SharedArrayBuffers come from malloc+mmap at page offset 16,
 * where the kernel's page-cache copy (`rep movsb`) ran 4x slower on the measured host (-30 % overall).
 * WebAssembly.Memory is mapped by V8 on a page boundary.
 */
export function alignedBuffer(): Buffer {
  const pages = Math.ceil(CHUNK_SIZE / 65536);
  return Buffer.from(new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer, 0, CHUNK_SIZE);
}

/** Control block shared by all threads of one hashJobs call (a SharedArrayBuffer of CONTROL_BYTES). */
export const CONTROL_BYTES = 16;
/** Int32 index: the next job to take (Atomics.add), i.e. the shared queue. */
export const NEXT = 0;
/** Int32 index: non-zero once the call settled (error, abort); threads stop at their next chunk. */
export const STOP = 1;
/** BigInt64 index (in the view at byte 8): bytes hashed so far, all threads together. */
export const PROGRESS = 0;

export interface Control {
  ints: Int32Array;
  progress: BigInt64Array;
}

export function controlViews(sab: SharedArrayBuffer): Control {
  return { ints: new Int32Array(sab, 0, 2), progress: new BigInt64Array(sab, 8, 1) };
}

/** The jobs as sent to workers: parallel arrays (cheap to clone), already in LPT order. */
export interface JobTable {
  paths: string[];
  starts: Float64Array;
  ends: Float64Array;
}

/** A job finished: index `k` in the JobTable, and its hex digest. */
export interface JobDone {
  k: number;
  digest: string;
}

/**
 * The loop every hashing thread runs: takes jobs from the shared queue until it is empty or STOP is set,
 * and hashes bytes [start, end) of each. Yields the size of every chunk hashed (already added to the
 * shared PROGRESS), so the calling thread can yield to the event loop, and a JobDone per finished job.
 * Throws ModelSealError('BAD_INPUT', 'cannot read <path>: ...') when a file cannot be opened or read or
 * ends early. A driver that stops early must let `return()` run (for...of does), so the file is closed.
 */
export function* drainQueue(jobs: JobTable, control: Control, buf: Buffer, newHasher: HasherFactory): Generator<number | JobDone, void, void> {
  const { ints, progress } = control;
  const n = jobs.paths.length;
  while (Atomics.load(ints, STOP) === 0) {
    const k = Atomics.add(ints, NEXT, 1);
    if (k >= n) return;
    const path = jobs.paths[k]!;
    const end = jobs.ends[k]!;
    let fd: number | undefined;
    let digest: string;
    try {
      fd = openSync(path, 'r');
      const h = newHasher();
      for (let pos = jobs.starts[k]!; pos < end; ) {
        const got = readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos);
        // A regular file reads 0 bytes only past its end: it shrank (or was replaced) while being hashed.
        if (got === 0) throw new Error(`file ended at byte ${pos}, expected ${end} (modified while hashing?)`);
        h.update(got === buf.length ? buf : buf.subarray(0, got));
        pos += got;
        Atomics.add(progress, PROGRESS, BigInt(got));
        yield got;
        if (Atomics.load(ints, STOP) !== 0) return;
      }
      digest = h.digest();
    } catch (e) {
      throw fail('BAD_INPUT', `cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    yield { k, digest };
  }
}
