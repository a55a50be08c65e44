/**
 * The model repository: discovery, index, load/unload, and the verification gate in front of every
 * runtime. Load = snapshot → verify the snapshot → prune it to the verified files → read its
 * model-settings.json → load the runtime from it → register (replacing the old instance only now).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { SignerInfo } from '../verifying/verifier.js';
import { messageOf, notFound, ServerError, VerificationRefused } from './errors.js';
import { checkSnapshot, checkVerifiedBytes, GateRefusal, policyEntryFor, type GateOutcome, type VerifyFunction } from './gate.js';
import type { Logger } from './logging.js';
import type { ServerMetrics } from './metrics.js';
import type { Policy } from './policy.js';
import { loadRuntime, type ModelRuntime } from './runtimes/index.js';
import { compareVersions, discoverModels, MODEL_SETTINGS_FILE, parseModelSettings, type DiscoveredModel, type ModelSettings } from './settings.js';
import { createSnapshot, pruneSnapshot, removeSnapshot, type Snapshot } from './snapshot.js';

export type ModelState = 'UNKNOWN' | 'READY' | 'UNAVAILABLE' | 'LOADING' | 'UNLOADING';

export interface IndexItem {
  name: string;
  version?: string;
  state: ModelState;
  reason: string;
}

export interface LoadedModel {
  name: string;
  version?: string;
  settings: ModelSettings;
  runtime: ModelRuntime;
  snapshotDir: string;
  /** The original folder (informational: never read after the snapshot). */
  folder: string;
  verification: { result: GateOutcome['result']; signer?: SignerInfo; reason?: string };
  loadedAt: Date;
}

/** Test and integration hooks around a load. */
export interface LoadHooks {
  /** After each file is copied into the snapshot. */
  onFileCopied?: (info: { model: string; file: string; original: string; snapshot: string }) => void | Promise<void>;
  /** After the snapshot verified, before the runtime loads from it (the worst moment to swap the original). */
  afterVerify?: (info: { model: string; original: string; snapshot: string }) => void | Promise<void>;
}

export interface RepositoryOptions {
  root: string;
  policy: Policy;
  logger: Logger;
  metrics?: ServerMetrics;
  snapshotParent?: string;
  hooks?: LoadHooks;
  /** Replaces api.verify (tests only). */
  verify?: VerifyFunction;
}

const key = (name: string, version?: string): string => `${name}\u0000${version ?? ''}`;

export class ModelRepository {
  private readonly registered = new Map<string, LoadedModel>();
  private readonly status = new Map<string, { state: ModelState; reason: string }>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private closed = false;

  constructor(private readonly opts: RepositoryOptions) {}

  get root(): string {
    return this.opts.root;
  }

  discover(): DiscoveredModel[] {
    const { models, problems } = discoverModels(this.opts.root);
    for (const p of problems) this.opts.logger.log('warn', `skipping unreadable model settings: ${p.error}`, { path: p.path });
    return models;
  }

  /** MLServer/Triton index: every discovered model version plus registered ones, with state and reason. */
  index(readyOnly = false): IndexItem[] {
    const items = new Map<string, IndexItem>();
    for (const d of this.discover()) {
      const k = key(d.name, d.version);
      if (items.has(k)) continue;
      items.set(k, this.itemFor(d.name, d.version));
    }
    for (const m of this.registered.values()) {
      const k = key(m.name, m.version);
      if (!items.has(k)) items.set(k, this.itemFor(m.name, m.version));
    }
    const list = [...items.values()].sort((a, b) => (a.name === b.name ? compareVersions(a.version ?? '', b.version ?? '') : a.name < b.name ? -1 : 1));
    return readyOnly ? list.filter((i) => i.state === 'READY') : list;
  }

  private itemFor(name: string, version?: string): IndexItem {
    const k = key(name, version);
    const st = this.status.get(k);
    const state: ModelState = this.registered.has(k) ? (st?.state === 'LOADING' || st?.state === 'UNLOADING' ? st.state : 'READY') : (st?.state ?? 'UNAVAILABLE');
    return { name, ...(version !== undefined ? { version } : {}), state, reason: st?.reason ?? '' };
  }

  /** The registered model (default version: the unversioned one, else the newest), or 404. */
  get(name: string, version?: string): LoadedModel {
    if (version !== undefined) {
      const m = this.registered.get(key(name, version));
      if (!m) throw notFound(`Model ${name} with version ${version} not found`);
      return m;
    }
    const versions = this.versionsOf(name);
    if (versions.length === 0) throw notFound(`Model ${name} not found`);
    const unversioned = versions.find((m) => m.version === undefined);
    return unversioned ?? versions.sort((a, b) => compareVersions(b.version!, a.version!))[0]!;
  }

  versionsOf(name: string): LoadedModel[] {
    return [...this.registered.values()].filter((m) => m.name === name);
  }

  list(): LoadedModel[] {
    return [...this.registered.values()];
  }

  /** Serialise loads/unloads of one model name. */
  private async withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(name) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.locks.set(name, tail);
    try {
      return await next;
    } finally {
      if (this.locks.get(name) === tail) this.locks.delete(name);
    }
  }

  /** Load (or reload) every version of `name`. Throws ServerError (400 refusal, 404 unknown, 422 bad URI). */
  async load(name: string): Promise<void> {
    if (this.closed) throw new ServerError(503, 'server is shutting down');
    return this.withLock(name, async () => {
      const found = this.discover().filter((d) => d.name === name);
      if (found.length === 0) throw notFound(`Model ${name} not found`);
      const seen = new Map<string, string>();
      for (const d of found) {
        const k = key(d.name, d.version);
        if (seen.has(k)) {
          throw new ServerError(400, `model '${name}'${d.version ? ` version ${d.version}` : ''} is defined twice (${seen.get(k)} and ${d.relFolder}): refusing to guess`);
        }
        seen.set(k, d.relFolder);
      }
      let firstError: unknown;
      for (const d of found) {
        try {
          await this.loadVersion(d);
        } catch (e) {
          firstError ??= e;
        }
      }
      // Versions no longer on disk are unloaded (MLServer's "stale" versions).
      const present = new Set(found.map((d) => key(d.name, d.version)));
      for (const m of this.versionsOf(name)) {
        if (!present.has(key(m.name, m.version))) await this.unregister(m, 'version no longer in the repository');
      }
      if (firstError) throw firstError;
    });
  }

  private async loadVersion(d: DiscoveredModel): Promise<void> {
    const { logger, metrics } = this.opts;
    const k = key(d.name, d.version);
    const old = this.registered.get(k);
    const fields = { model_name: d.name, model_version: d.version };
    const started = performance.now();
    if (!old) this.status.set(k, { state: 'LOADING', reason: 'verifying' });
    let snapshot: Snapshot | undefined;
    let runtime: ModelRuntime | undefined;
    try {
      // A model no policy entry covers is refused before a byte of it is copied.
      const entry = policyEntryFor(this.opts.policy, d.name);
      snapshot = await createSnapshot(d.folder, {
        ...(this.opts.snapshotParent ? { parentDir: this.opts.snapshotParent } : {}),
        ...(this.opts.hooks?.onFileCopied
          ? { onFileCopied: (file: string, dir: string) => this.opts.hooks!.onFileCopied!({ model: d.name, file, original: d.folder, snapshot: dir }) }
          : {}),
      }).catch((e: unknown) => {
        throw new GateRefusal(`cannot snapshot the model folder: ${messageOf(e)}`);
      });
      // checkSnapshot turns every verification error into a GateRefusal (or, in warn mode, an outcome).
      const outcome = await checkSnapshot(snapshot.dir, entry, this.opts.verify);
      metrics?.verifications.inc({ model: d.name, result: outcome.result });
      if (outcome.result === 'verified') {
        const removed = await pruneSnapshot(snapshot, outcome.verifiedFiles!);
        const sig = outcome.entry.signature;
        const unexpected = removed.filter((f) => f !== sig);
        if (unexpected.length) logger.log('warn', `files not covered by the signature were removed from the snapshot: ${unexpected.join(', ')}`, fields);
        logger.log('info', `model '${d.name}' verified`, { ...fields, signer: outcome.signer });
      } else if (outcome.result === 'warned') {
        logger.log('warn', `POLICY MODE "warn": model '${d.name}' FAILED signature verification and is loaded anyway: ${outcome.reason}`, fields);
      } else {
        logger.log('warn', `POLICY MODE "off": model '${d.name}' is loaded WITHOUT signature verification`, fields);
      }
      await this.opts.hooks?.afterVerify?.({ model: d.name, original: d.folder, snapshot: snapshot.dir });

      // Only now is anything read from the model folder's contents (from the verified snapshot).
      const text = await readFile(join(snapshot.dir, MODEL_SETTINGS_FILE), 'utf8').catch(() => {
        throw new ServerError(400, `model '${d.name}': ${MODEL_SETTINGS_FILE} is not covered by the signature`);
      });
      const settings = parseModelSettings(text, d.folder.split(/[/\\]/).pop() ?? d.name);
      if (settings.name !== d.name || settings.parameters?.version !== d.version) {
        throw new GateRefusal(`${MODEL_SETTINGS_FILE} changed while loading (name/version differ from the repository's)`);
      }
      const digests = outcome.digests;
      const checkBytes = (name: string, bytes: Uint8Array): boolean => {
        try {
          return checkVerifiedBytes(digests, name, bytes);
        } catch (e) {
          throw new GateRefusal(messageOf(e));
        }
      };
      runtime = await loadRuntime({ folder: snapshot.dir, settings, logger, checkBytes }).catch((e: unknown) => {
        if (e instanceof ServerError || e instanceof GateRefusal) throw e;
        throw new ServerError(400, `model '${d.name}' failed to load: ${messageOf(e)}`);
      });
      if (this.closed) throw new ServerError(503, 'server is shutting down');
      const model: LoadedModel = {
        name: d.name,
        ...(d.version !== undefined ? { version: d.version } : {}),
        settings,
        runtime,
        snapshotDir: snapshot.dir,
        folder: d.folder,
        verification: { result: outcome.result, ...(outcome.signer ? { signer: outcome.signer } : {}), ...(outcome.reason ? { reason: outcome.reason } : {}) },
        loadedAt: new Date(),
      };
      this.registered.set(k, model);
      this.status.set(k, {
        state: 'READY',
        reason: outcome.result === 'verified' ? '' : outcome.result === 'warned' ? `loaded despite failed verification (mode warn): ${outcome.reason}` : 'loaded without verification (mode off)',
      });
      metrics?.loadDuration.observe({ model: d.name, outcome: 'loaded' }, (performance.now() - started) / 1000);
      logger.log('info', old ? `Reloaded model '${d.name}' successfully.` : `Loaded model '${d.name}' successfully.`, { ...fields, verification: outcome.result });
      if (old) await this.dispose(old);
    } catch (e) {
      if (runtime) await runtime.unload().catch(() => undefined);
      if (snapshot) await removeSnapshot(snapshot.dir);
      const err = e instanceof GateRefusal ? new VerificationRefused(d.name, e.reason) : e instanceof ServerError ? e : new ServerError(500, `model '${d.name}' failed to load: ${messageOf(e)}`);
      if (e instanceof GateRefusal) metrics?.verifications.inc({ model: d.name, result: 'refused' });
      metrics?.loadDuration.observe({ model: d.name, outcome: e instanceof GateRefusal ? 'refused' : 'failed' }, (performance.now() - started) / 1000);
      if (old) {
        this.status.set(k, { state: 'READY', reason: `reload failed, previous version still serving: ${err.message}` });
        logger.log('error', `Couldn't reload model '${d.name}'; the previous instance keeps serving. ${err.message}`, fields);
      } else {
        this.status.set(k, { state: 'UNAVAILABLE', reason: err.message });
        logger.log('error', `Couldn't load model '${d.name}'. ${err.message}`, fields);
      }
      throw err;
    }
  }

  async unload(name: string): Promise<void> {
    return this.withLock(name, async () => {
      const versions = this.versionsOf(name);
      if (versions.length === 0) throw notFound(`Model ${name} not found`);
      for (const m of versions) await this.unregister(m, '');
      this.opts.logger.log('info', `Unloaded all versions of model '${name}' successfully.`, { model_name: name });
    });
  }

  private async unregister(m: LoadedModel, reason: string): Promise<void> {
    const k = key(m.name, m.version);
    this.status.set(k, { state: 'UNLOADING', reason });
    this.registered.delete(k);
    await this.dispose(m);
    this.status.set(k, { state: 'UNAVAILABLE', reason });
  }

  private async dispose(m: LoadedModel): Promise<void> {
    await m.runtime.unload().catch((e: unknown) => this.opts.logger.log('warn', `unload error: ${messageOf(e)}`, { model_name: m.name }));
    await removeSnapshot(m.snapshotDir);
  }

  /** Load every discovered model; failures leave the model UNAVAILABLE. Returns the failures. */
  async loadAll(): Promise<Array<{ name: string; error: string }>> {
    const names = [...new Set(this.discover().map((d) => d.name))];
    const failures: Array<{ name: string; error: string }> = [];
    for (const n of names) {
      try {
        await this.load(n);
      } catch (e) {
        failures.push({ name: n, error: messageOf(e) });
      }
    }
    return failures;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.locks.values()]);
    for (const m of [...this.registered.values()]) {
      this.registered.delete(key(m.name, m.version));
      await this.dispose(m);
    }
  }
}
