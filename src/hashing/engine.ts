/**
 * The hashing engine: digests of byte ranges of files, using every core, with flat memory.
 *
 * Design (measured in /work/shared/notes/hashing-performance.md):
 * - jobs are taken largest first (LPT) from one shared queue, a SharedArrayBuffer counter bumped with
 *   Atomics.add, so small files fill the other threads' idle time at the end and no job needs a message
 *   round trip to be handed out;
 * - every thread runs the same synchronous loop (loop.ts): positional readSync into its own page-aligned
 *   1 MiB buffer, then hash.update;
 * - the calling thread hashes too by default (fastest for the CLI: it starts at once while the workers
 *   boot), in slices that yield to the event loop so progress, abort and timers keep running;
 * - below MIN_PARALLEL_BYTES no worker starts at all (a worker costs ~40 ms to boot, 1.3 GB/s of hashing
 *   would have done ~50 MB by then);
 * - with few coarse jobs (1 GB shards) on few cores, LPT leaves a core idle at the tail, so the engine then
 *   runs more threads than cores and lets the OS time-slice them (+11 % on 4 x 1 GB shards, 2 cores).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { fail } from '../errors.js';
import { HASH_ALGORITHMS } from '../manifest/types.js';
import { hasherFactory, type HasherFactory } from './algorithms.js';
import {
  alignedBuffer,
  CONTROL_BYTES,
  controlViews,
  drainQueue,
  PROGRESS,
  STOP,
  type JobTable,
} from './loop.js';
import type { HashJob, HashOptions } from './types.js';
import type { WorkerInput, WorkerMessage } from './worker.js';

/** Below this total the calling thread hashes alone: worker start-up would cost more than it saves. */
export const MIN_PARALLEL_BYTES = 128 * 1024 * 1024;
/** The calling thread yields to the event loop after this many bytes (~5 ms of SHA-256)... */
const YIELD_BYTES = 8 * 1024 * 1024;
/** ...or after this many jobs (per-file open/close costs ~55 us). */
const YIELD_JOBS = 64;
/** How often worker progress is forwarded to onProgress while the calling thread is idle. */
const PROGRESS_INTERVAL_MS = 50;
/** Cost of one thread beyond the cores, relative (start-up, memory, cache sharing): measured ~3 %. */
const OVERSUBSCRIPTION_COST = 0.03;

/** Found next to the compiled engine, so it works from dist/ or any outDir. */
const WORKER_URL = new URL('./worker.js', import.meta.url);

export interface ThreadPlan {
  /** Threads in total, the calling thread included when it hashes. */
  threads: number;
  /** Whether the calling thread hashes. */
  mainThread: boolean;
}

/** Per-thread loads when `sorted` (descending) is handed out greedily to `t` threads, as the queue does. */
function lptLoads(sorted: number[], t: number): number[] {
  const load = new Array<number>(t).fill(0);
  for (const s of sorted) {
    let m = 0;
    for (let i = 1; i < t; i++) if (load[i]! < load[m]!) m = i;
    load[m]! += s;
  }
  return load;
}

/**
 * Modelled finish time of `t` threads on `cores` cores with the OS sharing the cores fairly among
 * the threads still running (processor sharing). Units: bytes at one core's speed.
 */
function sharedMakespan(sorted: number[], t: number, cores: number): number {
  const loads = lptLoads(sorted, t).sort((a, b) => a - b);
  let time = 0;
  let done = 0;
  for (let i = 0; i < loads.length; i++) {
    const rate = Math.min(1, cores / (loads.length - i));
    time += (loads[i]! - done) / rate;
    done = loads[i]!;
  }
  return time;
}

/**
 * How many threads to run for jobs of these sizes (sorted descending). Exported for tests.
 * `maxWorkers` is a hard cap (as the reference's max_workers); without it the engine may run up to
 * twice the cores (at most +2 threads) when coarse jobs would leave a core idle at the tail, e.g. one
 * 3 GiB file in 1 GB shards on 2 cores: 2 threads finish at 2.0 (one core idle for the last 0.8 GB),
 * 4 threads at 1.61, the perfect split. Each extra thread is charged 3 % (its start-up and memory,
 * measured) so it is only added when the model says it pays, never for one giant job that no
 * thread count can split.
 */
export function planThreads(
  sortedSizes: number[],
  opts: { maxWorkers?: number; useMainThread?: boolean; cores?: number },
): ThreadPlan {
  const mainThread = opts.useMainThread !== false;
  const cores = Math.max(1, opts.cores ?? availableParallelism());
  const n = sortedSizes.length;
  const total = sortedSizes.reduce((a, b) => a + b, 0);
  let threads = Math.max(1, Math.min(opts.maxWorkers ?? cores, n));
  if (mainThread && total < MIN_PARALLEL_BYTES) return { threads: 1, mainThread };
  if (opts.maxWorkers === undefined && threads > 1 && n > threads) {
    const base = threads;
    let best = sharedMakespan(sortedSizes, base, cores);
    for (let t = base + 1; t <= Math.min(n, base + Math.min(base, 2)); t++) {
      const cost = sharedMakespan(sortedSizes, t, cores) * (1 + OVERSUBSCRIPTION_COST * (t - base));
      if (cost < best) {
        best = cost;
        threads = t;
      }
    }
  }
  return { threads, mainThread };
}

function checkJobs(jobs: HashJob[]): void {
  for (const j of jobs) {
    if (
      typeof j.path !== 'string' ||
      !Number.isSafeInteger(j.start) ||
      !Number.isSafeInteger(j.end) ||
      j.start < 0 ||
      j.end < j.start
    ) {
      throw fail('BAD_INPUT', `invalid hash job ${JSON.stringify(j)}`);
    }
  }
}

/**
 * The parent's node flags minus those that only make sense for the main entry point: workers inherit
 * execArgv, and `node --input-type=module -e ...` (or -p) would make every worker fail to load its file.
 */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-e' || a === '--eval' || a === '-p' || a === '--print') {
      i++; // and its script
      continue;
    }
    if (a.startsWith('--input-type') || a.startsWith('--eval=') || a.startsWith('--print=')) continue;
    out.push(a);
  }
  return out;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Hashes each job (bytes [start, end) of a file) and returns lower-case hex digests in the order of
 * `jobs`. Rejects with ModelSealError('BAD_INPUT', 'cannot read <path>: ...') when a file cannot be
 * opened or read or ends early, and with `signal.reason` when aborted; workers are terminated either way.
 */
export async function hashJobs(jobs: HashJob[], options: HashOptions): Promise<string[]> {
  const { algorithm, onProgress, signal } = options;
  if (!HASH_ALGORITHMS.includes(algorithm)) throw fail('USAGE', `unknown hash algorithm '${String(algorithm)}'`);
  if (options.maxWorkers !== undefined && (!Number.isSafeInteger(options.maxWorkers) || options.maxWorkers < 1)) {
    throw fail('USAGE', `max workers must be a positive integer, got ${String(options.maxWorkers)}`);
  }
  checkJobs(jobs);
  signal?.throwIfAborted();
  if (jobs.length === 0) return [];

  // LPT: largest first; ties keep the caller's order.
  const sizes = jobs.map((j) => j.end - j.start);
  const order = sizes.map((_, i) => i).sort((a, b) => sizes[b]! - sizes[a]! || a - b);
  const sortedSizes = order.map((i) => sizes[i]!);
  const plan = planThreads(sortedSizes, options);
  const workerCount = plan.mainThread ? plan.threads - 1 : plan.threads;
  // The calling thread's hasher factory (the wasm BLAKE3 fallback must be created before the loop).
  const newHasher = plan.mainThread ? await hasherFactory(algorithm) : null;
  signal?.throwIfAborted();

  const table: JobTable = {
    paths: order.map((i) => jobs[i]!.path),
    starts: Float64Array.from(order, (i) => jobs[i]!.start),
    ends: Float64Array.from(order, (i) => jobs[i]!.end),
  };
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  const { ints, progress } = controlViews(control);
  const n = jobs.length;
  const results = new Array<string>(n);
  let remaining = n;

  return new Promise<string[]>((resolve, reject) => {
    let settled = false;
    const workers: Worker[] = [];
    let liveWorkers = 0;
    let reported = 0;
    let timer: NodeJS.Timeout | undefined;

    const flushProgress = (): void => {
      if (!onProgress) return;
      const now = Number(Atomics.load(progress, PROGRESS));
      if (now > reported) {
        const delta = now - reported;
        reported = now;
        onProgress(delta);
      }
    };
    const finish = (err?: unknown): void => {
      if (settled) return;
      if (err === undefined) {
        try {
          flushProgress(); // so the progress total equals the byte count
        } catch (e) {
          err = e;
        }
      }
      settled = true;
      Atomics.store(ints, STOP, 1);
      if (timer) clearInterval(timer);
      signal?.removeEventListener('abort', onAbort);
      for (const w of workers) void w.terminate();
      if (err === undefined) resolve(results);
      else reject(err);
    };
    const onAbort = (): void => finish(signal!.reason); // Node sets an AbortError when abort() had no reason
    const done = (k: number, digest: string): void => {
      results[order[k]!] = digest;
      if (--remaining === 0) finish();
    };
    const progressSafely = (): void => {
      try {
        flushProgress();
      } catch (e) {
        finish(e);
      }
    };

    signal?.addEventListener('abort', onAbort, { once: true });

    const input: WorkerInput = { jobs: table, control, algorithm };
    const execArgv = workerExecArgv();
    for (let i = 0; i < workerCount; i++) {
      let w: Worker;
      try {
        w = new Worker(WORKER_URL, { workerData: input, execArgv });
      } catch (e) {
        finish(e);
        return;
      }
      workers.push(w);
      liveWorkers++;
      w.on('message', (m: WorkerMessage) => {
        if (settled) return;
        if (m.t === 'ok') {
          progressSafely();
          done(m.k, m.d);
        } else {
          finish(fail('BAD_INPUT', m.message));
        }
      });
      w.on('error', (e) => finish(new Error(`hashing worker failed: ${e.message}`, { cause: e })));
      w.on('exit', (code) => {
        liveWorkers--;
        if (settled) return;
        if (code !== 0) finish(new Error(`hashing worker exited with code ${code}`));
        else if (liveWorkers === 0 && !plan.mainThread && remaining > 0) {
          finish(new Error('hashing workers stopped before all jobs were done'));
        }
      });
    }
    if (onProgress && workerCount > 0) {
      timer = setInterval(progressSafely, PROGRESS_INTERVAL_MS);
      timer.unref(); // the workers keep the process alive while needed, not this timer
    }

    if (newHasher) {
      void mainLoop(newHasher).catch((e: unknown) => finish(e));
    }

    async function mainLoop(factory: HasherFactory): Promise<void> {
      let bytesSinceYield = 0;
      let jobsSinceYield = 0;
      for (const step of drainQueue(table, { ints, progress }, alignedBuffer(), factory)) {
        if (typeof step === 'number') {
          bytesSinceYield += step;
        } else {
          done(step.k, step.digest);
          jobsSinceYield++;
        }
        if (bytesSinceYield >= YIELD_BYTES || jobsSinceYield >= YIELD_JOBS) {
          bytesSinceYield = 0;
          jobsSinceYield = 0;
          progressSafely();
          await yieldToEventLoop();
        }
      }
    }
  });
}
