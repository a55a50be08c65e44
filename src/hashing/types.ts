import type { HashAlgorithm } from '../manifest/types.js';

/** One unit of hashing work: bytes [start, end) of a file. A whole file is start=0, end=size. */
export interface HashJob {
  /** Absolute path to read. */
  path: string;
  start: number;
  end: number;
}

export interface HashOptions {
  algorithm: HashAlgorithm;
  /** Cap on threads (the reference's `max_workers`); default: os.availableParallelism(). */
  maxWorkers?: number;
  /** Called with the number of bytes just hashed (cumulative progress is the caller's sum). */
  onProgress?: (bytes: number) => void;
  /** Abort the hashing early. */
  signal?: AbortSignal;
  /**
   * Whether the calling thread hashes too (in slices that yield to the event loop every few ms), with
   * availableParallelism()-1 workers beside it. Default true: fastest for the CLI, and small models
   * (< 128 MiB) never pay a worker's start-up. Servers that need the event loop free pass false:
   * all hashing then runs in workers (about 2-4 % slower, ~40 ms start-up even on tiny models).
   */
  useMainThread?: boolean;
}
