/**
 * Hashing worker: runs the shared queue loop (loop.ts) until the queue is empty, posting one message per
 * finished job, or one error and stop. The loop is fully synchronous (nothing to await per chunk); the
 * calling thread stops it through the shared STOP flag or terminate().
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { HashAlgorithm } from '../manifest/types.js';
import { hasherFactory } from './algorithms.js';
import { alignedBuffer, controlViews, drainQueue, type JobTable } from './loop.js';

export interface WorkerInput {
  jobs: JobTable;
  control: SharedArrayBuffer;
  algorithm: HashAlgorithm;
}
export type WorkerMessage = { t: 'ok'; k: number; d: string } | { t: 'err'; message: string };

const port = parentPort!;
const { jobs, control, algorithm } = workerData as WorkerInput;
const newHasher = await hasherFactory(algorithm);

try {
  for (const step of drainQueue(jobs, controlViews(control), alignedBuffer(), newHasher)) {
    if (typeof step !== 'number') port.postMessage({ t: 'ok', k: step.k, d: step.digest } satisfies WorkerMessage);
  }
} catch (e) {
  port.postMessage({ t: 'err', message: e instanceof Error ? e.message : String(e) } satisfies WorkerMessage);
}
