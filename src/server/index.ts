/**
 * `modelseal serve`: an Open Inference Protocol server (REST + gRPC) that loads a model only after
 * its whole folder verified against the trust policy, from a private snapshot of the verified bytes.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAbsolute, relative, resolve } from 'node:path';
import { isModelSealError } from '../errors.js';
import { ServerError, messageOf } from './errors.js';
import type { VerifyFunction } from './gate.js';
import { createRequestHandler, type ServerCore } from './http.js';
import { jsonLogger, type Logger, type LogLevel } from './logging.js';
import { ServerMetrics } from './metrics.js';
import { loadPolicyFile, verifiersFor, type Policy } from './policy.js';
import { ModelRepository, type LoadHooks } from './repository.js';
import { isLoopbackHost, loadServerSettings, type ServerSettings } from './settings.js';

export { ServerError, VerificationRefused } from './errors.js';
export { checkBearer } from './http.js';
export { jsonLogger, memoryLogger, silentLogger, type Logger, type LogLevel } from './logging.js';
export { loadPolicyFile, matchPolicy, parsePolicy, type Policy, type PolicyEntry, type PolicyMode } from './policy.js';
export type { IndexItem, LoadHooks, LoadedModel, ModelState } from './repository.js';
export { DEFAULT_SETTINGS, isLoopbackHost, loadServerSettings, type ModelSettings, type ServerSettings } from './settings.js';

export interface StartServerOptions {
  /** settings.json path or a (partial) settings object. */
  settings?: string | Partial<ServerSettings>;
  /** Repository root (wins over settings.model_repository_root, as `mlserver start DIR`). */
  repository?: string;
  /** Policy file path or an already parsed Policy (wins over settings.policy). */
  policy?: string | Policy;
  /** Port overrides (0 = any free port; grpcPort null = no gRPC). */
  httpPort?: number;
  grpcPort?: number | null;
  host?: string;
  /** Environment for MLSERVER_* / MODELSEAL_* overrides (default process.env). */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Test hooks around loads (e.g. to swap files at the worst moment). */
  hooks?: LoadHooks;
  /** Replaces the library's verify() (tests only). */
  verify?: VerifyFunction;
}

export interface RunningServer {
  readonly settings: ServerSettings;
  /** Bound HTTP port (useful with port 0). */
  readonly httpPort: number;
  /** Bound gRPC port, or null when gRPC is disabled. */
  readonly grpcPort: number | null;
  readonly host: string;
  /** e.g. http://127.0.0.1:8080 */
  readonly url: string;
  readonly repository: ModelRepository;
  readonly metrics: ServerMetrics;
  /** Startup load failures (empty when load_models_at_startup is false). */
  readonly startupFailures: Array<{ name: string; error: string }>;
  /** Graceful shutdown: stop accepting, finish in-flight requests (up to `graceMs`), unload models, delete snapshots. */
  close(graceMs?: number): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((res, rej) => {
    server.once('error', rej);
    server.listen(port, host, () => {
      server.off('error', rej);
      res((server.address() as AddressInfo).port);
    });
  });
}

export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? jsonLogger();
  const env = options.env ?? process.env;
  const settings = loadServerSettings({
    ...(options.settings !== undefined ? { settings: options.settings } : {}),
    env,
    overrides: {
      ...(options.repository !== undefined ? { model_repository_root: resolve(options.repository) } : {}),
      ...(options.httpPort !== undefined ? { http_port: options.httpPort } : {}),
      ...(options.grpcPort !== undefined ? { grpc_port: options.grpcPort } : {}),
      ...(options.host !== undefined ? { host: options.host } : {}),
      ...(typeof options.policy === 'string' ? { policy: resolve(options.policy) } : {}),
    },
  });
  const authToken = settings.auth_token ?? undefined;
  if (!isLoopbackHost(settings.host) && !authToken) {
    throw new ServerError(
      400,
      `refusing to listen on '${settings.host}' (beyond loopback) without a token for the repository endpoints: set auth_token in settings.json or MODELSEAL_AUTH_TOKEN`,
    );
  }
  let policy: Policy;
  if (typeof options.policy === 'object') policy = options.policy;
  else if (settings.policy) policy = loadPolicyFile(settings.policy);
  else throw new ServerError(400, 'no trust policy given (--policy FILE or "policy" in settings.json): without one every model would be refused');
  for (const e of policy.entries) {
    // Build every entry's verifiers now: an unusable key or CA file stops the server at start-up
    // instead of refusing (or, in warn mode, waving through) every model at its first load.
    if (e.mode !== 'off') await verifiersFor(e);
    if (e.mode === 'off') logger.log('warn', `TRUST POLICY: verification is OFF for models matching ${e.models.join(', ')}: they load without any signature check`, { policy: policy.source });
    if (e.mode === 'warn') logger.log('warn', `TRUST POLICY: mode "warn" for models matching ${e.models.join(', ')}: models that fail verification still load`, { policy: policy.source });
  }
  const root = resolve(settings.model_repository_root);
  const inside = (p: string): boolean => {
    const rel = relative(root, resolve(p));
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  };
  const trustFiles = [policy.source, ...policy.entries.flatMap((e) => [...e.publicKeys, ...e.certificateAuthorities].map((k) => k.path))];
  for (const f of trustFiles.filter((p) => p.startsWith('/') && inside(p))) {
    logger.log('warn', `trust file '${f}' lies inside the model repository: whoever can write models could rewrite the policy or keys; keep them outside`, {});
  }
  const metrics = new ServerMetrics();
  const repository = new ModelRepository({
    root,
    policy,
    logger,
    metrics,
    ...(settings.snapshot_dir ? { snapshotParent: settings.snapshot_dir } : {}),
    ...(options.hooks ? { hooks: options.hooks } : {}),
    ...(options.verify ? { verify: options.verify } : {}),
  });
  let shuttingDown = false;
  const core: ServerCore = { settings, repository, logger, metrics, ...(authToken ? { authToken } : {}), isShuttingDown: () => shuttingDown };

  let startupFailures: Array<{ name: string; error: string }> = [];
  if (settings.load_models_at_startup) {
    startupFailures = await repository.loadAll();
    if (startupFailures.length) {
      logger.log('error', `Some of the models failed to load during startup: ${startupFailures.map((f) => f.name).join(', ')}`);
      if (settings.exit_on_startup_load_failure) {
        await repository.close();
        throw new ServerError(400, `models failed to load at startup: ${startupFailures.map((f) => f.error).join('; ')}`);
      }
    }
  }

  const http = createServer({ requestTimeout: 120_000, headersTimeout: 30_000 }, createRequestHandler(core));
  http.keepAliveTimeout = 5_000;
  let httpPort: number;
  try {
    httpPort = await listen(http, settings.http_port, settings.host);
  } catch (e) {
    await repository.close();
    throw new ServerError(500, `cannot listen on ${settings.host}:${settings.http_port}: ${messageOf(e)}`);
  }
  let grpcPort: number | null = null;
  let grpcClose: ((graceMs: number) => Promise<void>) | undefined;
  if (settings.grpc_port !== null) {
    try {
      const { startGrpcServer } = await import('./grpc/server.js');
      const g = await startGrpcServer(core, settings.host, settings.grpc_port);
      grpcPort = g.port;
      grpcClose = g.close;
    } catch (e) {
      await new Promise<void>((r) => http.close(() => r()));
      await repository.close();
      throw new ServerError(500, `cannot start the gRPC server on ${settings.host}:${settings.grpc_port}: ${messageOf(e)}`);
    }
  }
  const hostForUrl = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  logger.log('info', `modelseal server listening`, {
    http: `http://${hostForUrl}:${httpPort}`,
    grpc: grpcPort === null ? null : `${hostForUrl}:${grpcPort}`,
    model_repository_root: repository.root,
    policy: policy.source,
    auth: authToken ? 'bearer token required on repository endpoints' : 'none (loopback only)',
  });
  let closing: Promise<void> | undefined;
  return {
    settings,
    httpPort,
    grpcPort,
    host: settings.host,
    url: `http://${hostForUrl}:${httpPort}`,
    repository,
    metrics,
    startupFailures,
    close(graceMs = 5000) {
      closing ??= (async () => {
        shuttingDown = true;
        logger.log('info', 'shutting down');
        const httpClosed = new Promise<void>((r) => http.close(() => r()));
        http.closeIdleConnections();
        const timer = setTimeout(() => http.closeAllConnections(), graceMs);
        await Promise.all([httpClosed, grpcClose?.(graceMs)]);
        clearTimeout(timer);
        await repository.close();
        logger.log('info', 'server stopped');
      })();
      return closing;
    },
  };
}

// ------------------------------------------------------------------------------------------------
// CLI: modelseal serve [DIR] [--settings F] [--policy F] [--http-port N] [--grpc-port N] [--host H]

const SERVE_USAGE = `usage: modelseal serve [DIR] [--settings FILE] [--policy FILE] [--http-port N] [--grpc-port N|none]
                      [--host HOST] [--log-level debug|info|warn|error]

Serves the models under DIR (default: model_repository_root from settings, or .) over the Open
Inference Protocol. A model loads only if its whole folder verifies against the trust policy.
Environment: MLSERVER_<FIELD> / MODELSEAL_<FIELD> override settings (e.g. MODELSEAL_AUTH_TOKEN).
Exit codes: 0 clean shutdown (SIGINT/SIGTERM), 2 usage, 3 bad settings/policy/startup refusal, 1 internal error.`;

export interface ServeCommandIO {
  /** Where logs go (default stderr JSON lines). */
  logger?: Logger;
  /** Resolves when the server should stop (default: SIGINT or SIGTERM). */
  stopSignal?: Promise<unknown>;
  /** Called once listening (tests, embedding). */
  onListening?: (server: RunningServer) => void;
  env?: NodeJS.ProcessEnv;
  /** Usage and help text (default: stderr / stdout). */
  err?: (text: string) => void;
  out?: (text: string) => void;
}

/** Parse argv (the words after `serve`), start, wait for SIGINT/SIGTERM, shut down. Returns the exit code. */
export async function serveCommand(argv: string[], io: ServeCommandIO = {}): Promise<number> {
  const opts: { dir?: string; settings?: string; policy?: string; httpPort?: number; grpcPort?: number | null; host?: string; level?: LogLevel } = {};
  const usage = (msg: string): number => {
    (io.err ?? ((t: string) => process.stderr.write(t)))(`modelseal serve: ${msg}\n${SERVE_USAGE}\n`);
    return 2;
  };
  const port = (v: string | undefined, allowNone: boolean): number | null | undefined => {
    if (v === undefined) return undefined;
    if (allowNone && /^(none|off|null)$/i.test(v)) return null;
    if (!/^\d+$/.test(v) || Number(v) > 65535) return undefined;
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const flag = (a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a).replace(/_/g, '-');
    const takeValue = (): string | undefined => (a.startsWith('--') && eq > 0 ? a.slice(eq + 1) : argv[++i]);
    switch (flag) {
      case '-h':
      case '--help':
        (io.out ?? ((t: string) => process.stdout.write(t)))(SERVE_USAGE + '\n');
        return 0;
      case '--settings':
        opts.settings = takeValue();
        if (!opts.settings) return usage('--settings needs a file');
        break;
      case '--policy':
        opts.policy = takeValue();
        if (!opts.policy) return usage('--policy needs a file');
        break;
      case '--http-port': {
        const p = port(takeValue(), false);
        if (p === undefined || p === null) return usage('--http-port needs a port number');
        opts.httpPort = p;
        break;
      }
      case '--grpc-port': {
        const p = port(takeValue(), true);
        if (p === undefined) return usage('--grpc-port needs a port number or "none"');
        opts.grpcPort = p;
        break;
      }
      case '--host':
        opts.host = takeValue();
        if (!opts.host) return usage('--host needs a value');
        break;
      case '--log-level': {
        const l = takeValue();
        if (l !== 'debug' && l !== 'info' && l !== 'warn' && l !== 'error') return usage('--log-level must be debug, info, warn or error');
        opts.level = l;
        break;
      }
      default:
        if (a.startsWith('-')) return usage(`unknown option '${a}'`);
        if (opts.dir !== undefined) return usage(`unexpected argument '${a}'`);
        opts.dir = a;
    }
  }
  const logger = io.logger ?? jsonLogger({ level: opts.level ?? 'info' });
  let server: RunningServer;
  try {
    server = await startServer({
      ...(opts.settings ? { settings: opts.settings } : {}),
      ...(opts.dir ? { repository: opts.dir } : {}),
      ...(opts.policy ? { policy: opts.policy } : {}),
      ...(opts.httpPort !== undefined ? { httpPort: opts.httpPort } : {}),
      ...(opts.grpcPort !== undefined ? { grpcPort: opts.grpcPort } : {}),
      ...(opts.host ? { host: opts.host } : {}),
      ...(io.env ? { env: io.env } : {}),
      logger,
    });
  } catch (e) {
    logger.log('error', `cannot start the server: ${messageOf(e)}`);
    return e instanceof ServerError || isModelSealError(e) ? 3 : 1;
  }
  io.onListening?.(server);
  let onSignal: (() => void) | undefined;
  const stop =
    io.stopSignal ??
    new Promise<void>((r) => {
      onSignal = () => r();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
    });
  await stop;
  if (onSignal) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  try {
    await server.close();
    return 0;
  } catch (e) {
    logger.log('error', `error during shutdown: ${messageOf(e)}`);
    return 1;
  }
}
