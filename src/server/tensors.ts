/**
 * Open Inference Protocol payloads: request validation (400 with a reason, never a crash), data
 * flattening, and datatype checks.
 */
import { badRequest } from './errors.js';

export const DATATYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'] as const;
export type Datatype = (typeof DATATYPES)[number];

export type Parameters = Record<string, unknown>;
/** Flat, row-major element values: numbers, booleans, strings (BYTES) or bigints (64-bit integers from gRPC). */
export type TensorData = Array<number | boolean | string | bigint>;

export interface RequestInput {
  name: string;
  shape: number[];
  datatype: Datatype;
  parameters?: Parameters;
  /** Always flat once parsed. */
  data: TensorData;
}

export interface RequestOutput {
  name: string;
  parameters?: Parameters;
}

export interface InferenceRequest {
  id?: string;
  parameters?: Parameters;
  inputs: RequestInput[];
  outputs?: RequestOutput[];
}

export interface ResponseOutput {
  name: string;
  shape: number[];
  datatype: Datatype;
  parameters?: Parameters;
  data: TensorData;
}

export interface InferenceResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Parameters;
  outputs: ResponseOutput[];
}

const INT_RANGE: Partial<Record<Datatype, [number, number]>> = {
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
};
const INT64_RANGE: Partial<Record<Datatype, [bigint, bigint]>> = {
  INT64: [-(1n << 63n), (1n << 63n) - 1n],
  UINT64: [0n, (1n << 64n) - 1n],
};

export function isDatatype(s: unknown): s is Datatype {
  return typeof s === 'string' && (DATATYPES as readonly string[]).includes(s);
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Flatten nested arrays (row-major). Refuses non-array leaves that are objects. */
export function flatten(data: unknown, where: string, max: number): TensorData {
  const out: TensorData = [];
  const visit = (v: unknown, depth: number): void => {
    if (depth > 32) throw badRequest(`${where}: data is nested too deeply`);
    if (Array.isArray(v)) {
      for (const x of v) visit(x, depth + 1);
      return;
    }
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string' || typeof v === 'bigint') {
      if (out.length >= max) throw badRequest(`${where}: data has more elements than its shape`);
      out.push(v);
      return;
    }
    throw badRequest(`${where}: data elements must be numbers, booleans or strings`);
  };
  visit(data, 0);
  return out;
}

/** Check (and normalise) each element against the datatype. */
export function checkElements(data: TensorData, datatype: Datatype, where: string): TensorData {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    const bad = (why: string): never => {
      throw badRequest(`${where}: element ${i} (${JSON.stringify(typeof v === 'bigint' ? v.toString() : v)}) ${why} for datatype ${datatype}`);
    };
    switch (datatype) {
      case 'BOOL':
        if (typeof v === 'boolean') break;
        if (v === 0 || v === 1) data[i] = v === 1;
        else bad('is not a boolean');
        break;
      case 'BYTES':
        if (typeof v !== 'string') bad('is not a string');
        break;
      case 'FP16':
      case 'FP32':
      case 'FP64':
        if (typeof v === 'number') break;
        if (typeof v === 'bigint') data[i] = Number(v);
        else if (typeof v === 'string' && /^(nan|inf|-inf|infinity|-infinity)$/i.test(v)) data[i] = v.toLowerCase().includes('nan') ? NaN : v.startsWith('-') ? -Infinity : Infinity;
        else bad('is not a number');
        break;
      case 'INT64':
      case 'UINT64': {
        const [lo, hi] = INT64_RANGE[datatype]!;
        let b: bigint;
        if (typeof v === 'bigint') b = v;
        else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
        else if (typeof v === 'string' && /^-?\d+$/.test(v)) b = BigInt(v);
        else return bad('is not an integer');
        if (b < lo || b > hi) bad('is out of range');
        data[i] = b;
        break;
      }
      default: {
        const [lo, hi] = INT_RANGE[datatype]!;
        const n = typeof v === 'bigint' ? Number(v) : v;
        if (typeof n !== 'number' || !Number.isInteger(n)) bad('is not an integer');
        else if (n < lo || n > hi) bad('is out of range');
        data[i] = n as number;
      }
    }
  }
  return data;
}

export function checkShape(shape: unknown, where: string): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw badRequest(`${where}: shape must be a list of non-negative integers`);
  }
  if (shape.length > 16) throw badRequest(`${where}: shape has too many dimensions`);
  return shape as number[];
}

function checkParameters(p: unknown, where: string): Parameters | undefined {
  if (p === undefined || p === null) return undefined;
  if (typeof p !== 'object' || Array.isArray(p)) throw badRequest(`${where}: parameters must be an object`);
  return p as Parameters;
}

/** Validate a JSON inference request body; every problem is a 400 with a reason. */
export function parseInferenceRequest(body: unknown, maxElements = 1 << 26): InferenceRequest {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('inference request must be a JSON object');
  const b = body as Record<string, unknown>;
  if (b.id !== undefined && typeof b.id !== 'string') throw badRequest("'id' must be a string");
  if (!Array.isArray(b.inputs) || b.inputs.length === 0) throw badRequest("'inputs' must be a non-empty list");
  const seen = new Set<string>();
  const inputs = b.inputs.map((raw, i): RequestInput => {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw badRequest(`inputs[${i}] must be an object`);
    const o = raw as Record<string, unknown>;
    if (typeof o.name !== 'string' || o.name === '') throw badRequest(`inputs[${i}]: 'name' must be a non-empty string`);
    const where = `input '${o.name}'`;
    if (seen.has(o.name)) throw badRequest(`${where} is given twice`);
    seen.add(o.name);
    if (!isDatatype(o.datatype)) throw badRequest(`${where}: unknown datatype ${JSON.stringify(o.datatype)} (expected one of ${DATATYPES.join(', ')})`);
    const shape = checkShape(o.shape, where);
    const count = elementCount(shape);
    if (count > maxElements) throw badRequest(`${where}: shape has too many elements`);
    if (o.data === undefined) throw badRequest(`${where}: 'data' is missing`);
    const data = flatten(o.data, where, count);
    if (data.length !== count) throw badRequest(`${where}: shape ${JSON.stringify(shape)} needs ${count} elements, data has ${data.length}`);
    checkElements(data, o.datatype, where);
    const parameters = checkParameters(o.parameters, where);
    return { name: o.name, shape, datatype: o.datatype, data, ...(parameters ? { parameters } : {}) };
  });
  let outputs: RequestOutput[] | undefined;
  if (b.outputs !== undefined) {
    if (!Array.isArray(b.outputs)) throw badRequest("'outputs' must be a list");
    outputs = b.outputs.map((raw, i) => {
      const o = raw as Record<string, unknown>;
      if (!o || typeof o !== 'object' || typeof o.name !== 'string') throw badRequest(`outputs[${i}]: 'name' must be a string`);
      const parameters = checkParameters(o.parameters, `output '${o.name}'`);
      return { name: o.name, ...(parameters ? { parameters } : {}) };
    });
  }
  const parameters = checkParameters(b.parameters, 'request');
  return { ...(b.id !== undefined ? { id: b.id as string } : {}), ...(parameters ? { parameters } : {}), inputs, ...(outputs ? { outputs } : {}) };
}

/** Validate what a runtime returned (custom runtimes are user code). */
export function checkResponseOutputs(outputs: unknown, where: string): ResponseOutput[] {
  if (!Array.isArray(outputs)) throw new Error(`${where}: predict() must return { outputs: [...] }`);
  return outputs.map((raw, i) => {
    const o = raw as Record<string, unknown>;
    if (!o || typeof o.name !== 'string' || !isDatatype(o.datatype)) throw new Error(`${where}: outputs[${i}] needs name and a known datatype`);
    const shape = Array.isArray(o.shape) ? (o.shape as number[]) : [];
    const data = flatten(o.data ?? [], `${where}: output '${o.name}'`, Number.MAX_SAFE_INTEGER);
    return { name: o.name, shape, datatype: o.datatype, data, ...(o.parameters ? { parameters: o.parameters as Parameters } : {}) };
  });
}

/** JSON-safe output data: bigints become numbers when exact, else decimal strings. */
export function jsonSafe(data: TensorData): Array<number | boolean | string> {
  return data.map((v) => (typeof v === 'bigint' ? (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v));
}

const RAW_SIZE: Partial<Record<Datatype, number>> = { BOOL: 1, UINT8: 1, INT8: 1, UINT16: 2, INT16: 2, UINT32: 4, INT32: 4, UINT64: 8, INT64: 8, FP32: 4, FP64: 8 };

/** Decode raw little-endian tensor bytes (binary tensor extension, gRPC raw contents). */
export function decodeRaw(buf: Buffer, datatype: Datatype, count: number, where: string): TensorData {
  if (datatype === 'BYTES') {
    const out: string[] = [];
    let off = 0;
    while (off < buf.length) {
      if (off + 4 > buf.length) throw badRequest(`${where}: truncated BYTES raw contents`);
      const n = buf.readUInt32LE(off);
      off += 4;
      if (off + n > buf.length) throw badRequest(`${where}: truncated BYTES raw contents`);
      out.push(buf.subarray(off, off + n).toString('utf8'));
      off += n;
    }
    return out;
  }
  const size = RAW_SIZE[datatype];
  if (!size) throw badRequest(`${where}: datatype ${datatype} is not supported in raw contents`);
  if (buf.length !== size * count) throw badRequest(`${where}: raw contents have ${buf.length} bytes, shape needs ${size * count}`);
  const out: TensorData = [];
  for (let i = 0; i < count; i++) {
    const o = i * size;
    switch (datatype) {
      case 'BOOL': out.push(buf[o] !== 0); break;
      case 'UINT8': out.push(buf.readUInt8(o)); break;
      case 'INT8': out.push(buf.readInt8(o)); break;
      case 'UINT16': out.push(buf.readUInt16LE(o)); break;
      case 'INT16': out.push(buf.readInt16LE(o)); break;
      case 'UINT32': out.push(buf.readUInt32LE(o)); break;
      case 'INT32': out.push(buf.readInt32LE(o)); break;
      case 'UINT64': out.push(buf.readBigUInt64LE(o)); break;
      case 'INT64': out.push(buf.readBigInt64LE(o)); break;
      case 'FP32': out.push(buf.readFloatLE(o)); break;
      case 'FP64': out.push(buf.readDoubleLE(o)); break;
    }
  }
  return out;
}

/** Encode tensor data as raw little-endian bytes (BYTES: 4-byte length + UTF-8 per element). */
export function encodeRaw(datatype: Datatype, data: TensorData): Buffer {
  if (datatype === 'BYTES') {
    return Buffer.concat(
      data.flatMap((v) => {
        const b = Buffer.from(String(v), 'utf8');
        const len = Buffer.alloc(4);
        len.writeUInt32LE(b.length);
        return [len, b];
      }),
    );
  }
  const size = RAW_SIZE[datatype];
  if (!size) throw new Error(`cannot encode ${datatype} as raw bytes`);
  const buf = Buffer.alloc(size * data.length);
  data.forEach((v, i) => {
    const o = i * size;
    switch (datatype) {
      case 'BOOL': buf[o] = v ? 1 : 0; break;
      case 'UINT8': buf.writeUInt8(Number(v), o); break;
      case 'INT8': buf.writeInt8(Number(v), o); break;
      case 'UINT16': buf.writeUInt16LE(Number(v), o); break;
      case 'INT16': buf.writeInt16LE(Number(v), o); break;
      case 'UINT32': buf.writeUInt32LE(Number(v), o); break;
      case 'INT32': buf.writeInt32LE(Number(v), o); break;
      case 'UINT64': buf.writeBigUInt64LE(BigInt(v as number | bigint), o); break;
      case 'INT64': buf.writeBigInt64LE(BigInt(v as number | bigint), o); break;
      case 'FP32': buf.writeFloatLE(Number(v), o); break;
      case 'FP64': buf.writeDoubleLE(Number(v), o); break;
    }
  });
  return buf;
}
