/**
 * gRPC: `inference.GRPCInferenceService` with the REST semantics. A verification refusal is
 * FAILED_PRECONDITION with the reason; other errors follow MLServer's mapping (400→INVALID_ARGUMENT,
 * 404→NOT_FOUND, 422→FAILED_PRECONDITION, 500→INTERNAL).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { badRequest, GRPC_CODE_FOR_STATUS, messageOf, ServerError, VerificationRefused } from '../errors.js';
import { checkBearer, infer, modelMetadata, serverMetadata, type ServerCore } from '../http.js';
import { checkElements, checkShape, decodeRaw, elementCount, isDatatype, type Datatype, type InferenceRequest, type RequestInput, type TensorData } from '../tensors.js';

export const PROTO_FILE = 'inference.proto';

/** Find inference.proto: next to this file (if copied at build), else src/server/grpc/ under the package root. */
export function findProtoFile(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, PROTO_FILE);
  if (existsSync(beside)) return beside;
  let dir = here;
  for (;;) {
    const candidate = join(dir, 'src', 'server', 'grpc', PROTO_FILE);
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find ${PROTO_FILE} (looked beside ${here} and in src/server/grpc/ of the package)`);
    dir = up;
  }
}

export const LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

export function loadServiceDefinition(): grpc.GrpcObject {
  const def = protoLoader.loadSync(findProtoFile(), LOADER_OPTIONS);
  return grpc.loadPackageDefinition(def);
}

type Params = Record<string, { bool_param?: boolean; int64_param?: string; string_param?: string; double_param?: number; uint64_param?: string; parameter_choice?: string }>;

function fromParams(p: Params | undefined): Record<string, unknown> | undefined {
  if (!p || Object.keys(p).length === 0) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) {
    const c = v.parameter_choice as keyof typeof v | undefined;
    const val = c ? v[c] : undefined;
    out[k] = c === 'int64_param' || c === 'uint64_param' ? Number(val) : val;
  }
  return out;
}

function toParams(p: Record<string, unknown> | undefined): Params {
  const out: Params = {};
  for (const [k, v] of Object.entries(p ?? {})) {
    if (typeof v === 'boolean') out[k] = { bool_param: v };
    else if (typeof v === 'number') out[k] = Number.isInteger(v) ? { int64_param: String(v) } : { double_param: v };
    else if (typeof v === 'string') out[k] = { string_param: v };
    else out[k] = { string_param: JSON.stringify(v) };
  }
  return out;
}

const CONTENTS_FIELD: Record<Datatype, string> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP16: '',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

interface GrpcInput {
  name: string;
  datatype: string;
  shape: string[];
  parameters?: Params;
  contents?: Record<string, unknown[]> | null;
}

/** Turn a ModelInferRequest into our validated InferenceRequest (400 on any inconsistency). */
export function fromGrpcRequest(r: { id?: string; parameters?: Params; inputs?: GrpcInput[]; outputs?: Array<{ name: string; parameters?: Params }>; raw_input_contents?: Buffer[] }): InferenceRequest {
  const raw = r.raw_input_contents ?? [];
  if (!r.inputs?.length) throw badRequest("'inputs' must be a non-empty list");
  if (raw.length && raw.length !== r.inputs.length) throw badRequest('raw_input_contents must have one entry per input');
  const inputs = r.inputs.map((t, i): RequestInput => {
    const where = `input '${t.name}'`;
    if (!t.name) throw badRequest(`inputs[${i}]: 'name' is required`);
    if (!isDatatype(t.datatype)) throw badRequest(`${where}: unknown datatype ${JSON.stringify(t.datatype)}`);
    const shape = checkShape((t.shape ?? []).map(Number), where);
    const count = elementCount(shape);
    let data: TensorData;
    if (raw.length) {
      const c = t.contents;
      if (c && Object.values(c).some((v) => Array.isArray(v) && v.length)) throw badRequest(`${where}: contents and raw_input_contents cannot both be used`);
      data = decodeRaw(raw[i]!, t.datatype, count, where);
    } else {
      const field = CONTENTS_FIELD[t.datatype];
      if (!field) throw badRequest(`${where}: ${t.datatype} can only be sent as raw_input_contents`);
      const values = (t.contents?.[field] ?? []) as unknown[];
      data = values.map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : typeof v === 'string' && (t.datatype === 'INT64' || t.datatype === 'UINT64') ? BigInt(v) : (v as number | boolean)));
    }
    if (data.length !== count) throw badRequest(`${where}: shape ${JSON.stringify(shape)} needs ${count} elements, got ${data.length}`);
    checkElements(data, t.datatype, where);
    const parameters = fromParams(t.parameters);
    return { name: t.name, shape, datatype: t.datatype, data, ...(parameters ? { parameters } : {}) };
  });
  const outputs = r.outputs?.length ? r.outputs.map((o) => ({ name: o.name, ...(fromParams(o.parameters) ? { parameters: fromParams(o.parameters)! } : {}) })) : undefined;
  const parameters = fromParams(r.parameters);
  return { ...(r.id ? { id: r.id } : {}), ...(parameters ? { parameters } : {}), inputs, ...(outputs ? { outputs } : {}) };
}

function contentsFor(datatype: Datatype, data: TensorData): Record<string, unknown[]> {
  const field = CONTENTS_FIELD[datatype];
  if (!field) throw new ServerError(500, `cannot send ${datatype} as gRPC contents`);
  if (datatype === 'BYTES') return { [field]: data.map((v) => Buffer.from(String(v), 'utf8')) };
  if (datatype === 'INT64' || datatype === 'UINT64') return { [field]: data.map((v) => String(v)) };
  return { [field]: data as unknown[] };
}

function toGrpcError(e: unknown): Partial<grpc.StatusObject> {
  if (e instanceof VerificationRefused) return { code: grpc.status.FAILED_PRECONDITION, details: e.message };
  if (e instanceof ServerError) return { code: GRPC_CODE_FOR_STATUS[e.status] ?? grpc.status.UNKNOWN, details: e.message };
  return { code: grpc.status.INTERNAL, details: `internal error: ${messageOf(e)}` };
}

export async function startGrpcServer(core: ServerCore, host: string, port: number): Promise<{ port: number; close: (graceMs: number) => Promise<void> }> {
  const pkg = loadServiceDefinition() as unknown as { inference: { GRPCInferenceService: grpc.ServiceClientConstructor } };
  const max = core.settings.grpc_max_message_length ?? core.settings.max_request_body_bytes;
  const server = new grpc.Server({ 'grpc.max_receive_message_length': max, 'grpc.max_send_message_length': max });
  const authed = (call: grpc.ServerUnaryCall<unknown, unknown>): void => {
    const v = call.metadata.get('authorization')[0];
    if (!checkBearer(typeof v === 'string' ? v : v?.toString(), core.authToken)) {
      throw new ServerError(401, 'repository calls require metadata authorization: Bearer <token>');
    }
  };
  type Handler = (call: grpc.ServerUnaryCall<any, any>) => Promise<unknown> | unknown; // eslint-disable-line @typescript-eslint/no-explicit-any
  const wrap = (method: string, fn: Handler): grpc.handleUnaryCall<unknown, unknown> => (call, cb) => {
    Promise.resolve()
      .then(() => fn(call))
      .then(
        (res) => {
          core.metrics?.grpcHandled.inc({ grpc_service: 'inference.GRPCInferenceService', grpc_method: method, grpc_code: 'OK' });
          cb(null, res);
        },
        (e: unknown) => {
          const err = toGrpcError(e);
          core.metrics?.grpcHandled.inc({ grpc_service: 'inference.GRPCInferenceService', grpc_method: method, grpc_code: grpc.status[err.code!] ?? String(err.code) });
          if (err.code === grpc.status.INTERNAL) core.logger.log('error', err.details ?? 'grpc error', { grpc_method: method });
          cb(err as grpc.ServiceError);
        },
      );
  };
  const ver = (v: string | undefined): string | undefined => (v ? v : undefined);
  server.addService(pkg.inference.GRPCInferenceService.service, {
    ServerLive: wrap('ServerLive', () => ({ live: true })),
    ServerReady: wrap('ServerReady', () => ({ ready: !core.isShuttingDown() })),
    ModelReady: wrap('ModelReady', (call) => {
      core.repository.get(call.request.name, ver(call.request.version));
      return { ready: true };
    }),
    ServerMetadata: wrap('ServerMetadata', () => serverMetadata(core)),
    ModelMetadata: wrap('ModelMetadata', (call) => {
      const m = modelMetadata(core, call.request.name, ver(call.request.version)) as Record<string, unknown> & { parameters?: Record<string, unknown> };
      return { ...m, parameters: toParams(m.parameters) };
    }),
    ModelInfer: wrap('ModelInfer', async (call) => {
      const r = call.request;
      core.repository.get(r.model_name, ver(r.model_version));
      const res = await infer(core, r.model_name, ver(r.model_version), fromGrpcRequest(r));
      return {
        model_name: res.model_name,
        model_version: res.model_version ?? '',
        id: res.id ?? '',
        parameters: toParams(res.parameters),
        outputs: res.outputs.map((o) => ({ name: o.name, datatype: o.datatype, shape: o.shape.map(String), parameters: toParams(o.parameters), contents: contentsFor(o.datatype, o.data) })),
      };
    }),
    RepositoryIndex: wrap('RepositoryIndex', (call) => {
      authed(call);
      return { models: core.repository.index(call.request.ready === true).map((i) => ({ ...i, version: i.version ?? '' })) };
    }),
    RepositoryModelLoad: wrap('RepositoryModelLoad', async (call) => {
      authed(call);
      await core.repository.load(call.request.model_name);
      return {};
    }),
    RepositoryModelUnload: wrap('RepositoryModelUnload', async (call) => {
      authed(call);
      await core.repository.unload(call.request.model_name);
      return {};
    }),
  });
  const bound = await new Promise<number>((res, rej) => {
    const addr = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    server.bindAsync(addr, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? rej(err) : res(p)));
  });
  return {
    port: bound,
    close: (graceMs: number) =>
      new Promise<void>((res) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          res();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          res();
        });
      }),
  };
}
