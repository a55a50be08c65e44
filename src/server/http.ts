/**
 * REST: the Open Inference Protocol v2 data plane and the model-repository extension.
 * Every error is `{"error": message}` with MLServer's status codes; nothing a client sends crashes it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { timingSafeEqual, createHash } from 'node:crypto';
import { gunzip } from 'node:zlib';
import { badRequest, messageOf, ServerError } from './errors.js';
import type { Logger } from './logging.js';
import type { ServerMetrics } from './metrics.js';
import type { ModelRepository } from './repository.js';
import type { ServerSettings } from './settings.js';
import { checkShape, decodeRaw, elementCount, encodeRaw, isDatatype, jsonSafe, parseInferenceRequest, type InferenceRequest, type InferenceResponse } from './tensors.js';

export interface ServerCore {
  settings: ServerSettings;
  repository: ModelRepository;
  logger: Logger;
  metrics?: ServerMetrics;
  /** The repository endpoints need this bearer token (undefined = no token required). */
  authToken?: string;
  isShuttingDown(): boolean;
}

/** Constant-time bearer-token check. `header` is the Authorization header (or gRPC metadata) value. */
export function checkBearer(header: string | undefined, token: string | undefined): boolean {
  if (token === undefined) return true;
  if (typeof header !== 'string') return false;
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (!m) return false;
  const a = createHash('sha256').update(m[1]!).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

export function serverMetadata(core: ServerCore): { name: string; version: string; extensions: string[] } {
  return { name: core.settings.server_name, version: core.settings.server_version, extensions: [...new Set(['model_repository', 'binary_tensor_data', ...core.settings.extensions])] };
}

export function modelMetadata(core: ServerCore, name: string, version?: string): Record<string, unknown> {
  const m = core.repository.get(name, version);
  const meta = m.runtime.metadata();
  const versions = core.repository.versionsOf(name).map((v) => v.version).filter((v): v is string => v !== undefined);
  const signer = m.verification.signer;
  return {
    name: m.name,
    ...(versions.length ? { versions } : {}),
    platform: m.settings.platform ?? meta.platform,
    inputs: meta.inputs,
    outputs: meta.outputs,
    parameters: {
      'modelseal.verification': m.verification.result,
      ...(signer?.keyHint ? { 'modelseal.signer.key_hint': signer.keyHint } : {}),
      ...(signer?.identity ? { 'modelseal.signer.identity': signer.identity } : {}),
      ...(signer?.issuer ? { 'modelseal.signer.issuer': signer.issuer } : {}),
      ...(signer?.certificateSubject ? { 'modelseal.signer.subject': signer.certificateSubject } : {}),
    },
  };
}

/** Run an inference, with metrics. Shared by REST and gRPC. */
export async function infer(core: ServerCore, name: string, version: string | undefined, req: InferenceRequest): Promise<InferenceResponse> {
  const m = core.repository.get(name, version);
  const labels = { model: m.name, version: m.version ?? '' };
  const t0 = performance.now();
  try {
    const res = await m.runtime.predict(req);
    core.metrics?.inferSuccess.inc(labels);
    core.metrics?.inferDuration.observe(labels, (performance.now() - t0) / 1000);
    return {
      model_name: m.name,
      ...(m.version !== undefined ? { model_version: m.version } : {}),
      ...(req.id !== undefined ? { id: req.id } : {}),
      ...(res.parameters ? { parameters: res.parameters } : {}),
      outputs: res.outputs,
    };
  } catch (e) {
    core.metrics?.inferFailure.inc(labels);
    throw e;
  }
}

class BodyTooLarge extends ServerError {
  constructor(limit: number) {
    super(413, `request body larger than ${limit} bytes`);
  }
}

/** The request body, gunzipped when `Content-Encoding: gzip` (decompressed size limited too). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const raw = await readRawBody(req, limit);
  const enc = String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (enc === 'identity' || enc === '') return raw;
  if (enc !== 'gzip') throw new ServerError(415, `unsupported Content-Encoding '${enc}' (use gzip or none)`);
  return new Promise((res, rej) =>
    gunzip(raw, { maxOutputLength: limit }, (err, out) => {
      if (!err) return res(out);
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || /Cannot create a Buffer larger|buffer.*too large/i.test(err.message)) rej(new BodyTooLarge(limit));
      else rej(badRequest(`malformed gzip body: ${err.message}`));
    }),
  );
}

function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new BodyTooLarge(limit));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > limit) {
        done = true;
        reject(new BodyTooLarge(limit));
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!done) resolvePromise(Buffer.concat(chunks));
    });
    req.on('error', (e) => {
      if (!done) reject(badRequest(`cannot read request body: ${e.message}`));
      done = true;
    });
  });
}

function parseJson(body: Buffer, emptyOk: boolean): unknown {
  const text = body.toString('utf8');
  if (text.trim() === '') {
    if (emptyOk) return {};
    throw badRequest('request body is empty (expected JSON)');
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`malformed JSON: ${(e as Error).message}`);
  }
}

/** Binary tensor extension: move raw input bytes (after the JSON header) into each input's `data`. */
function fillBinaryInputs(body: unknown, binary: Buffer): void {
  const inputs = (body as { inputs?: unknown })?.inputs;
  if (!Array.isArray(inputs)) throw badRequest("'inputs' must be a non-empty list");
  let off = 0;
  for (const [i, raw] of inputs.entries()) {
    const t = raw as { name?: unknown; datatype?: unknown; shape?: unknown; parameters?: Record<string, unknown>; data?: unknown } | null;
    const size = t?.parameters?.binary_data_size;
    if (size === undefined) continue;
    const where = `input '${String(t?.name ?? i)}'`;
    if (!Number.isSafeInteger(size) || (size as number) < 0) throw badRequest(`${where}: binary_data_size must be a non-negative integer`);
    if (t!.data !== undefined) throw badRequest(`${where}: give either data or binary_data_size`);
    if (!isDatatype(t!.datatype)) throw badRequest(`${where}: unknown datatype ${JSON.stringify(t!.datatype)}`);
    const shape = checkShape(t!.shape, where);
    if (off + (size as number) > binary.length) throw badRequest(`${where}: binary_data_size runs past the end of the body`);
    t!.data = decodeRaw(binary.subarray(off, off + (size as number)), t!.datatype, elementCount(shape), where);
    off += size as number;
  }
  if (off !== binary.length) throw badRequest(`the body has ${binary.length - off} binary bytes no input claims`);
}

function send(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  if (res.headersSent) return;
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

type Route = { method: string; re: RegExp; name: string; handler: (m: string[], req: IncomingMessage, res: ServerResponse) => Promise<void> };

const SEG = '([^/]+)';
const VER = '(?:/versions/([^/]+))?';

export function createRequestHandler(core: ServerCore): (req: IncomingMessage, res: ServerResponse) => void {
  const limit = core.settings.max_request_body_bytes;
  const requireAuth = (req: IncomingMessage): void => {
    if (!checkBearer(req.headers.authorization, core.authToken)) throw new ServerError(401, 'repository endpoints require Authorization: Bearer <token>');
  };
  const repoBody = async (req: IncomingMessage): Promise<Record<string, unknown>> => {
    const body = parseJson(await readBody(req, limit), true);
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('request body must be a JSON object');
    return body as Record<string, unknown>;
  };
  const routes: Route[] = [
    { method: 'GET', re: /^\/v2\/health\/live$/, name: '/v2/health/live', handler: async (_m, _q, res) => send(res, 200, { live: true }) },
    {
      method: 'GET',
      re: /^\/v2\/health\/ready$/,
      name: '/v2/health/ready',
      handler: async (_m, _q, res) => (core.isShuttingDown() ? send(res, 503, { ready: false }) : send(res, 200, { ready: true })),
    },
    { method: 'GET', re: /^\/v2\/?$/, name: '/v2', handler: async (_m, _q, res) => send(res, 200, serverMetadata(core)) },
    {
      method: 'GET',
      re: new RegExp(`^/v2/models/${SEG}${VER}/ready$`),
      name: '/v2/models/{m}/ready',
      handler: async ([name, version], _q, res) => {
        const m = core.repository.get(name!, version);
        send(res, 200, { name: m.name, ready: true });
      },
    },
    {
      method: 'GET',
      re: new RegExp(`^/v2/models/${SEG}${VER}$`),
      name: '/v2/models/{m}',
      handler: async ([name, version], _q, res) => send(res, 200, modelMetadata(core, name!, version)),
    },
    {
      method: 'POST',
      re: new RegExp(`^/v2/models/${SEG}${VER}/(?:infer|generate)$`),
      name: '/v2/models/{m}/infer',
      handler: async ([name, version], req, res) => {
        core.repository.get(name!, version); // 404 before reading a large body
        const raw = await readBody(req, limit);
        const headerLength = req.headers['inference-header-content-length'];
        let body: unknown;
        if (headerLength !== undefined) {
          const n = Number(headerLength);
          if (!Number.isSafeInteger(n) || n < 0 || n > raw.length) throw badRequest('Inference-Header-Content-Length must be the byte length of the JSON part');
          body = parseJson(raw.subarray(0, n), false);
          fillBinaryInputs(body, raw.subarray(n));
        } else {
          body = parseJson(raw, false);
        }
        const request = parseInferenceRequest(body);
        const out = await infer(core, name!, version, request);
        const allBinary = request.parameters?.binary_data_output === true;
        const perOutput = new Map(request.outputs?.map((o) => [o.name, o.parameters?.binary_data]) ?? []);
        const parts: Buffer[] = [];
        const outputs = out.outputs.map((o) => {
          const wanted = perOutput.get(o.name);
          if (wanted === true || (wanted === undefined && allBinary)) {
            const bytes = encodeRaw(o.datatype, o.data);
            parts.push(bytes);
            const { data: _data, ...rest } = o;
            return { ...rest, parameters: { ...(o.parameters ?? {}), binary_data_size: bytes.length } };
          }
          return { ...o, data: jsonSafe(o.data) };
        });
        if (parts.length === 0) {
          send(res, 200, { ...out, outputs });
          return;
        }
        const json = Buffer.from(JSON.stringify({ ...out, outputs }));
        const all = Buffer.concat([json, ...parts]);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'inference-header-content-length': json.length, 'content-length': all.length });
        res.end(all);
      },
    },
    {
      method: 'POST',
      re: /^\/v2\/repository\/index$/,
      name: '/v2/repository/index',
      handler: async (_m, req, res) => {
        requireAuth(req);
        const body = await repoBody(req);
        if (body.ready !== undefined && typeof body.ready !== 'boolean') throw badRequest("'ready' must be a boolean");
        send(res, 200, core.repository.index(body.ready === true));
      },
    },
    {
      method: 'POST',
      re: new RegExp(`^/v2/repository/models/${SEG}/load$`),
      name: '/v2/repository/models/{m}/load',
      handler: async ([name], req, res) => {
        requireAuth(req);
        await repoBody(req);
        await core.repository.load(name!);
        send(res, 200, undefined);
      },
    },
    {
      method: 'POST',
      re: new RegExp(`^/v2/repository/models/${SEG}/unload$`),
      name: '/v2/repository/models/{m}/unload',
      handler: async ([name], req, res) => {
        requireAuth(req);
        await repoBody(req);
        await core.repository.unload(name!);
        send(res, 200, undefined);
      },
    },
  ];
  const metricsPath = core.settings.metrics_endpoint;

  return (req, res) => {
    const t0 = performance.now();
    let routeName = 'unmatched';
    const url = (req.url ?? '/').split('?')[0]!;
    const finish = (): void => {
      if (routeName === '/v2/health/live' || routeName === '/v2/health/ready' || routeName === 'metrics') return;
      const labels = { method: req.method ?? '', path: routeName, status_code: String(res.statusCode) };
      core.metrics?.restRequests.inc(labels);
      core.metrics?.restDuration.observe(labels, (performance.now() - t0) / 1000);
    };
    res.on('finish', finish);
    const fail = (e: unknown): void => {
      const status = e instanceof ServerError ? e.status : 500;
      const message = e instanceof ServerError ? e.message : `internal error: ${messageOf(e)}`;
      if (status >= 500) core.logger.log('error', message, { path: url });
      if (status === 413) res.setHeader('connection', 'close');
      send(res, status, { error: message });
    };
    try {
      if (metricsPath && url === metricsPath && req.method === 'GET' && core.metrics) {
        routeName = 'metrics';
        core.metrics.text().then((t) => send(res, 200, t, core.metrics!.contentType), fail);
        return;
      }
      let pathMatched = false;
      for (const r of routes) {
        const m = r.re.exec(url);
        if (!m) continue;
        pathMatched = true;
        if (r.method !== req.method) continue;
        routeName = r.name;
        let params: string[];
        try {
          params = m.slice(1).map((s) => (s === undefined ? (undefined as unknown as string) : decodeURIComponent(s)));
        } catch {
          throw badRequest('malformed percent-encoding in the path');
        }
        r.handler(params, req, res).catch(fail);
        return;
      }
      if (pathMatched) {
        send(res, 405, { error: `method ${req.method} not allowed on ${url}` });
        return;
      }
      send(res, 404, { error: 'Not Found' });
    } catch (e) {
      fail(e);
    }
  };
}
