/**
 * Server settings (`settings.json`, MLServer's field names) and model settings
 * (`model-settings.json`), environment overrides, and discovery of models under the repository root.
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { VERSION } from '../cli/version.js';
import { fail } from '../errors.js';

export interface ServerSettings {
  server_name: string;
  server_version: string;
  /** Extra extensions to advertise (model_repository is always listed). */
  extensions: string[];
  host: string;
  /** 0 = pick a free port. */
  http_port: number;
  /** null = no gRPC server. 0 = pick a free port. */
  grpc_port: number | null;
  model_repository_root: string;
  load_models_at_startup: boolean;
  /** Startup loading with a model that fails: false = mark it UNAVAILABLE and keep serving (default); true = refuse to start. */
  exit_on_startup_load_failure: boolean;
  /** Path of the Prometheus endpoint on the HTTP port; null disables metrics. */
  metrics_endpoint: string | null;
  /** Trust policy file (JSON); relative to the settings file's folder, or to the cwd. */
  policy: string | null;
  /** Bearer token for the repository endpoints (required when `host` is not loopback). */
  auth_token: string | null;
  /** Largest accepted request body in bytes (413 beyond). */
  max_request_body_bytes: number;
  /** gRPC max receive/send message length in bytes. */
  grpc_max_message_length: number | null;
  debug: boolean;
  /** Directory for private model snapshots (default: defaultSnapshotParent(), under the user's cache directory, not the temp dir). */
  snapshot_dir: string | null;
}

export const DEFAULT_SETTINGS: ServerSettings = {
  server_name: 'modelseal',
  server_version: VERSION,
  extensions: [],
  host: '127.0.0.1',
  http_port: 8080,
  grpc_port: 8081,
  model_repository_root: '.',
  load_models_at_startup: true,
  exit_on_startup_load_failure: false,
  metrics_endpoint: '/metrics',
  policy: null,
  auth_token: null,
  max_request_body_bytes: 32 * 1024 * 1024,
  grpc_max_message_length: null,
  debug: false,
  snapshot_dir: null,
};

type Kind = 'string' | 'nstring' | 'port' | 'nport' | 'bool' | 'int' | 'nint' | 'strings';
const FIELDS: Record<keyof ServerSettings, Kind> = {
  server_name: 'string',
  server_version: 'string',
  extensions: 'strings',
  host: 'string',
  http_port: 'port',
  grpc_port: 'nport',
  model_repository_root: 'string',
  load_models_at_startup: 'bool',
  exit_on_startup_load_failure: 'bool',
  metrics_endpoint: 'nstring',
  policy: 'nstring',
  auth_token: 'nstring',
  max_request_body_bytes: 'int',
  grpc_max_message_length: 'nint',
  debug: 'bool',
  snapshot_dir: 'nstring',
};

/** MLServer fields we accept and ignore (so an MLServer settings.json loads unchanged). */
const IGNORED = new Set([
  'parallel_workers', 'parallel_workers_timeout', 'environments_dir', 'model_repository_implementation',
  'model_repository_implementation_args', 'root_path', 'cors_settings', 'metrics_port', 'metrics_rest_server_prefix',
  'metrics_dir', 'use_structured_logging', 'logging_settings', 'kafka_enabled', 'kafka_servers', 'kafka_topic_input',
  'kafka_topic_output', 'tracing_server', 'cache_enabled', 'cache_size', 'gzip_enabled',
]);

function coerce(field: string, kind: Kind, value: unknown, fromEnv: boolean): unknown {
  const bad = (): never => {
    throw fail('BAD_INPUT', `settings: '${field}' has an invalid value ${JSON.stringify(value)}`);
  };
  if (fromEnv && typeof value === 'string') {
    if (kind === 'bool') {
      if (/^(1|true|yes|on)$/i.test(value)) return true;
      if (/^(0|false|no|off)$/i.test(value)) return false;
      bad();
    }
    if ((kind === 'nstring' || kind === 'nport' || kind === 'nint') && (value === '' || value === 'null' || value === 'none')) return null;
    if (kind === 'port' || kind === 'nport' || kind === 'int' || kind === 'nint') value = /^\d+$/.test(value) ? Number(value) : bad();
    if (kind === 'strings') {
      const text: string = value as string;
      try {
        value = JSON.parse(text);
      } catch {
        value = text.split(',').map((s) => s.trim()).filter(Boolean);
      }
    }
  }
  switch (kind) {
    case 'string':
      return typeof value === 'string' ? value : bad();
    case 'nstring':
      return value === null || typeof value === 'string' ? value : bad();
    case 'bool':
      return typeof value === 'boolean' ? value : bad();
    case 'port':
    case 'nport':
      if (value === null && kind === 'nport') return null;
      return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 65535 ? value : bad();
    case 'int':
    case 'nint':
      if (value === null && kind === 'nint') return null;
      return Number.isInteger(value) && (value as number) > 0 ? value : bad();
    case 'strings':
      return Array.isArray(value) && value.every((s) => typeof s === 'string') ? value : bad();
  }
}

export interface LoadSettingsOptions {
  /** A settings.json path, or a partial settings object. */
  settings?: string | Partial<ServerSettings>;
  /** Environment to read `MLSERVER_<FIELD>` / `MODELSEAL_<FIELD>` from (default process.env; `{}` disables). */
  env?: NodeJS.ProcessEnv;
  /** Applied last (command-line flags). */
  overrides?: Partial<ServerSettings>;
}

/**
 * Resolve the effective settings: defaults < settings.json (or object) < env (`MLSERVER_*`, then
 * `MODELSEAL_*`, which wins) < overrides. Relative `model_repository_root` and `policy` in a
 * settings file are resolved against the file's folder.
 */
export function loadServerSettings(options: LoadSettingsOptions = {}): ServerSettings {
  const out: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  let base = process.cwd();
  let raw: Record<string, unknown> = {};
  if (typeof options.settings === 'string') {
    const file = resolve(options.settings);
    base = dirname(file);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw fail('BAD_INPUT', `cannot read settings file '${options.settings}': ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
    try {
      raw = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw fail('BAD_INPUT', `settings file '${options.settings}' is not valid JSON: ${(e as Error).message}`);
    }
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw fail('BAD_INPUT', `settings file '${options.settings}' must hold a JSON object`);
  } else if (options.settings) {
    raw = { ...options.settings } as Record<string, unknown>;
  }
  for (const [k, v] of Object.entries(raw)) {
    if (k in FIELDS) out[k] = coerce(k, FIELDS[k as keyof ServerSettings], v, false);
    else if (!IGNORED.has(k)) throw fail('BAD_INPUT', `settings: unknown field '${k}'`);
  }
  if (typeof options.settings === 'string') {
    for (const k of ['model_repository_root', 'policy'] as const) {
      const v = out[k];
      if (typeof v === 'string' && k in raw && !isAbsolute(v)) out[k] = resolve(base, v);
    }
  }
  const env = options.env ?? process.env;
  for (const prefix of ['MLSERVER_', 'MODELSEAL_']) {
    for (const field of Object.keys(FIELDS)) {
      const v = env[prefix + field.toUpperCase()];
      if (v !== undefined && v !== '') out[field] = coerce(prefix + field.toUpperCase(), FIELDS[field as keyof ServerSettings], v, true);
    }
  }
  for (const [k, v] of Object.entries(options.overrides ?? {})) {
    if (v !== undefined) out[k] = v;
  }
  return out as unknown as ServerSettings;
}

/** Loopback hosts: the repository endpoints need no token when the server only listens here. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  if (m) return m.slice(1).every((x) => Number(x) <= 255);
  return /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

// --------------------------------------------------------------------------------------------
// model-settings.json

export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
  parameters?: Record<string, unknown>;
}

export interface ModelSettings {
  name: string;
  implementation?: string;
  platform?: string;
  versions?: string[];
  inputs?: TensorMetadata[];
  outputs?: TensorMetadata[];
  parameters?: { uri?: string; version?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export const MODEL_SETTINGS_FILE = 'model-settings.json';

function checkTensorList(v: unknown, where: string): TensorMetadata[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw fail('BAD_INPUT', `${where} must be a list`);
  return v.map((t, i) => {
    if (!t || typeof t !== 'object') throw fail('BAD_INPUT', `${where}[${i}] must be an object`);
    const o = t as Record<string, unknown>;
    if (typeof o.name !== 'string' || typeof o.datatype !== 'string' || !Array.isArray(o.shape) || !o.shape.every((d) => Number.isInteger(d))) {
      throw fail('BAD_INPUT', `${where}[${i}] needs name, datatype and an integer shape`);
    }
    return o as unknown as TensorMetadata;
  });
}

/** Parse model-settings.json text. `folderName` is the default name (MLServer's rule). */
export function parseModelSettings(text: string, folderName: string, where = MODEL_SETTINGS_FILE): ModelSettings {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw fail('BAD_INPUT', `${where} is not valid JSON: ${(e as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw fail('BAD_INPUT', `${where} must hold a JSON object`);
  const o = raw as Record<string, unknown>;
  const name = o.name === undefined ? folderName : o.name;
  if (typeof name !== 'string' || name === '' || /[/\\\0]/.test(name)) throw fail('BAD_INPUT', `${where}: 'name' must be a non-empty string without slashes`);
  if (o.implementation !== undefined && typeof o.implementation !== 'string') throw fail('BAD_INPUT', `${where}: 'implementation' must be a string`);
  const params = o.parameters;
  if (params !== undefined && (params === null || typeof params !== 'object' || Array.isArray(params))) throw fail('BAD_INPUT', `${where}: 'parameters' must be an object`);
  const p = (params ?? {}) as Record<string, unknown>;
  if (p.uri !== undefined && typeof p.uri !== 'string') throw fail('BAD_INPUT', `${where}: 'parameters.uri' must be a string`);
  if (p.version !== undefined) {
    if (typeof p.version === 'number') p.version = String(p.version);
    if (typeof p.version !== 'string' || p.version === '' || /[/\\\0]/.test(p.version)) throw fail('BAD_INPUT', `${where}: 'parameters.version' must be a non-empty string`);
  }
  return {
    ...o,
    name,
    parameters: p as ModelSettings['parameters'],
    inputs: checkTensorList(o.inputs, `${where}: inputs`),
    outputs: checkTensorList(o.outputs, `${where}: outputs`),
  } as ModelSettings;
}

export interface DiscoveredModel {
  name: string;
  version?: string;
  /** Absolute folder holding model-settings.json: the unit that is snapshotted and verified. */
  folder: string;
  /** Folder relative to the repository root (POSIX). */
  relFolder: string;
}

export interface DiscoveryProblem {
  path: string;
  error: string;
}

const SKIP_DIRS = new Set(['.git', 'node_modules']);

/**
 * Find every model-settings.json under `root` (symlinks are not followed). Only `name` and
 * `parameters.version` are taken from these unverified files, to index and route; at load time the
 * settings are read again from the verified snapshot.
 */
export function discoverModels(root: string, maxDepth = 8): { models: DiscoveredModel[]; problems: DiscoveryProblem[] } {
  const absRoot = resolve(root);
  const models: DiscoveredModel[] = [];
  const problems: DiscoveryProblem[] = [];
  const walk = (dir: string, depth: number): void => {
    let entries: string[];
    try {
      entries = readdirSync(dir).sort();
    } catch (e) {
      problems.push({ path: dir, error: String((e as NodeJS.ErrnoException).code ?? e) });
      return;
    }
    if (entries.includes(MODEL_SETTINGS_FILE)) {
      const file = join(dir, MODEL_SETTINGS_FILE);
      try {
        const st = lstatSync(file);
        if (!st.isFile()) throw new Error('not a regular file');
        if (st.size > 1024 * 1024) throw new Error('larger than 1 MiB');
        const rel = relative(absRoot, dir).split(sep).join('/');
        const folderName = rel === '' ? absRoot.split(sep).pop() ?? 'model' : rel.split('/').pop()!;
        const ms = parseModelSettings(readFileSync(file, 'utf8'), folderName, rel ? `${rel}/${MODEL_SETTINGS_FILE}` : MODEL_SETTINGS_FILE);
        models.push({ name: ms.name, version: ms.parameters?.version, folder: dir, relFolder: rel || '.' });
      } catch (e) {
        problems.push({ path: file, error: (e as Error).message });
      }
    }
    if (depth >= maxDepth) return;
    for (const e of entries) {
      if (SKIP_DIRS.has(e)) continue;
      const p = join(dir, e);
      let st;
      try {
        st = lstatSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(p, depth + 1);
    }
  };
  walk(absRoot, 0);
  return { models, problems };
}

/** Version order for "the default version": unversioned first, else the newest (integer compare, then string). */
export function compareVersions(a: string, b: string): number {
  const ia = /^\d+$/.test(a) ? Number(a) : NaN;
  const ib = /^\d+$/.test(b) ? Number(b) : NaN;
  if (!Number.isNaN(ia) && !Number.isNaN(ib)) return ia - ib;
  return a < b ? -1 : a > b ? 1 : 0;
}
