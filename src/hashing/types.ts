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
}
