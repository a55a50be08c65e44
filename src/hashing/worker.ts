/**
 * Hashing worker: pulls job indices from the shared atomic counter until the queue is empty, posting
 * one message per finished job. The loop is fully synchronous (nothing to await per chunk); the
 * calling thread stops it through the shared STOP flag or terminate().
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { HashAlgorithm } from '../manifest/types.js';
import { hasherFactory } from './algorithms.js';
import { alignedBuffer, controlViews, hashSteps, NEXT, PROGRESS, readFailureMessage, STOP, type JobTable } from './loop.js';

export interface WorkerInput {
  jobs: JobTable;
  control: SharedArrayBuffer;
  algorithm: HashAlgorithm;
}
export type WorkerMessage = { t: 'ok'; k: number; d: string } | { t: 'err'; k: number; message: string };

const port = parentPort!;
const { jobs, control, algorithm } = workerData as WorkerInput;
const { ints, progress } = controlViews(control);
const newHasher = await hasherFactory(algorithm);
const buf = alignedBuffer();
const n = jobs.paths.length;

outer: for (;;) {
  if (Atomics.load(ints, STOP) !== 0) break;
  const k = Atomics.add(ints, NEXT, 1);
  if (k >= n) break;
  const path = jobs.paths[k]!;
  const steps = hashSteps(path, jobs.starts[k]!, jobs.ends[k]!, buf, newHasher);
  try {
    for (;;) {
      const r = steps.next();
      if (r.done) {
        port.postMessage({ t: 'ok', k, d: r.value } satisfies WorkerMessage);
        break;
      }
      Atomics.add(progress, PROGRESS, BigInt(r.value));
      if (Atomics.load(ints, STOP) !== 0) break outer;
    }
  } catch (e) {
    port.postMessage({ t: 'err', k, message: readFailureMessage(path, e) } satisfies WorkerMessage);
    break;
  } finally {
    steps.return('');
  }
}
