/**
 * The per-thread read+hash loop, shared by the calling thread and the workers.
 *
 * Positional `readSync` into one reused, page-aligned 1 MiB buffer: it measured fastest when all cores
 * are busy (the copy lands in the hashing core's own L2), positional reads let several threads hash
 * shards of one file at once, and memory stays flat whatever the file size.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
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
export function alignedBuffer(size: number = CHUNK_SIZE): Buffer {
  const pages = Math.ceil(size / 65536);
  return Buffer.from(new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer, 0, size);
}

/** The file ended before the job's range did (it shrank or was replaced while being hashed). */
export class ShortReadError extends Error {}

/**
 * Hashes bytes [start, end) of `path`, yielding the size of every chunk hashed (so the driver can
 * count progress, check for a stop, or yield to the event loop) and returning the hex digest.
 * Drivers must call `return()` if they abandon it, so the descriptor is closed.
 */
export function* hashSteps(
  path: string,
  start: number,
  end: number,
  buf: Buffer,
  newHasher: HasherFactory,
): Generator<number, string, void> {
  const fd = openSync(path, 'r');
  try {
    const h = newHasher();
    for (let pos = start; pos < end; ) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos);
      if (n === 0) throw new ShortReadError(`file ended at byte ${pos}, expected ${end} (modified while hashing?)`);
      h.update(n === buf.length ? buf : buf.subarray(0, n));
      pos += n;
      yield n;
    }
    return h.digest();
  } finally {
    closeSync(fd);
  }
}

/** Read size of the pipelined loop (2 x 4 MiB measured best for it). */
export const PIPE_CHUNK_SIZE = 4 << 20;
/** Jobs smaller than this are not worth the pipelined loop's async open/close. */
export const PIPE_MIN_BYTES = 16 << 20;

/**
 * Hashes bytes [start, end) with read-ahead: chunk i+1 is read on the libuv pool while chunk i is hashed
 * on this thread. Only for a thread hashing alone (one core busy): the copy then runs on the idle core,
 * +7-9 % for SHA-256 and +15 % for BLAKE3 on one big file. When every core hashes, the blocking loop
 * wins (the pool's copy lands in the other core's cache). `onChunk` returns false to stop (then null).
 */
export async function hashPiped(
  path: string,
  start: number,
  end: number,
  bufs: [Buffer, Buffer],
  newHasher: HasherFactory,
  onChunk: (bytes: number) => boolean,
): Promise<string | null> {
  const fh = await open(path, 'r');
  let pending: Promise<{ n: number; want: number; at: number; b: Buffer }> | null = null;
  try {
    const h = newHasher();
    let pos = start;
    let k = 0;
    const read = (b: Buffer): typeof pending => {
      const want = Math.min(b.length, end - pos);
      const at = pos;
      pos += want;
      return fh.read(b, 0, want, at).then((r) => ({ n: r.bytesRead, want, at, b }));
    };
    pending = pos < end ? read(bufs[0]) : null;
    while (pending) {
      const { n, want, at, b } = await pending;
      // Regular files return short reads only at end of file: the file shrank.
      if (n < want) throw new ShortReadError(`file ended at byte ${at + n}, expected ${end} (modified while hashing?)`);
      pending = pos < end ? read(bufs[++k & 1]!) : null;
      h.update(n === b.length ? b : b.subarray(0, n));
      if (!onChunk(n)) return null;
    }
    return h.digest();
  } finally {
    // A read still in flight when we stop early: its outcome no longer matters, but must not surface
    // as an unhandled rejection; close() waits for it.
    pending?.catch(() => undefined);
    await fh.close();
  }
}

/** "cannot read <path>: <why>", the one message shape for I/O failures while hashing. */
export function readFailureMessage(path: string, err: unknown): string {
  const why = err instanceof Error ? err.message : String(err);
  return `cannot read ${path}: ${why}`;
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
