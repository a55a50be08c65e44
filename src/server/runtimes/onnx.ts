/**
 * ONNX runtime (onnxruntime-node, CPU). The session is created from the bytes of the verified
 * snapshot, never from a path the runtime would re-open.
 */
import { readFile } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import { badRequest, messageOf } from '../errors.js';
import type { TensorMetadata } from '../settings.js';
import { elementCount, type Datatype, type InferenceRequest, type ResponseOutput, type TensorData } from '../tensors.js';
import type { ModelRuntime, RuntimeContext, RuntimeMetadata } from './types.js';

type Ort = typeof import('onnxruntime-node');
let ortPromise: Promise<Ort> | undefined;
function ort(): Promise<Ort> {
  ortPromise ??= import('onnxruntime-node');
  return ortPromise;
}

/** OIP datatype → onnxruntime tensor type (FP16 is refused in JSON: no good JSON form). */
export const ORT_TYPE_FOR: Partial<Record<Datatype, string>> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
};
export const DATATYPE_FOR_ORT: Record<string, Datatype> = Object.fromEntries(
  Object.entries(ORT_TYPE_FOR).map(([k, v]) => [v, k as Datatype]),
) as Record<string, Datatype>;
DATATYPE_FOR_ORT.float16 = 'FP16';

function typedArrayFor(ortType: string, data: TensorData): unknown {
  switch (ortType) {
    case 'float32':
      return Float32Array.from(data as number[]);
    case 'float64':
      return Float64Array.from(data as number[]);
    case 'int8':
      return Int8Array.from(data as number[]);
    case 'int16':
      return Int16Array.from(data as number[]);
    case 'int32':
      return Int32Array.from(data as number[]);
    case 'uint8':
      return Uint8Array.from(data as number[]);
    case 'uint16':
      return Uint16Array.from(data as number[]);
    case 'uint32':
      return Uint32Array.from(data as number[]);
    case 'int64':
      return BigInt64Array.from(data as bigint[]);
    case 'uint64':
      return BigUint64Array.from(data as bigint[]);
    case 'bool':
      return Uint8Array.from((data as boolean[]).map((b) => (b ? 1 : 0)));
    case 'string':
      return (data as string[]).slice();
    default:
      throw badRequest(`datatype ${ortType} is not supported by the ONNX runtime`);
  }
}

function fromOrtData(type: string, data: unknown): TensorData {
  if (type === 'bool') return Array.from(data as Uint8Array, (v) => v !== 0);
  if (type === 'string') return Array.from(data as string[]);
  if (type === 'int64' || type === 'uint64') return Array.from(data as BigInt64Array, (v) => v);
  return Array.from(data as Float32Array, (v) => v);
}

function dims(shape: ReadonlyArray<number | string>): number[] {
  return shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
}

export async function loadOnnxRuntime(ctx: RuntimeContext, modelFile: string): Promise<ModelRuntime> {
  const { InferenceSession, Tensor } = await ort();
  const bytes = await readFile(modelFile);
  const rel = relative(ctx.folder, modelFile).split(sep).join('/');
  ctx.checkBytes(rel, bytes); // the bytes handed to onnxruntime are the bytes that were hashed
  const session = await InferenceSession.create(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
  });
  const meta = (list: readonly import('onnxruntime-node').InferenceSession.ValueMetadata[], declared?: TensorMetadata[]): TensorMetadata[] =>
    list.map((m) => {
      const d = declared?.find((t) => t.name === m.name);
      if (d) return d;
      if (!m.isTensor) return { name: m.name, datatype: 'BYTES', shape: [] };
      return { name: m.name, datatype: DATATYPE_FOR_ORT[m.type] ?? String(m.type).toUpperCase(), shape: dims(m.shape) };
    });
  const metadata: RuntimeMetadata = {
    platform: 'onnx_onnxv1',
    inputs: meta(session.inputMetadata, ctx.settings.inputs),
    outputs: meta(session.outputMetadata, ctx.settings.outputs),
  };
  const inputTypes = new Map<string, string>();
  for (const m of session.inputMetadata) if (m.isTensor) inputTypes.set(m.name, String(m.type));
  let queue: Promise<unknown> = Promise.resolve();

  return {
    kind: 'onnx',
    metadata: () => metadata,
    async predict(req: InferenceRequest) {
      const feeds: Record<string, InstanceType<typeof Tensor>> = {};
      for (const input of req.inputs) {
        if (!session.inputNames.includes(input.name)) throw badRequest(`unknown input '${input.name}' (model inputs: ${session.inputNames.join(', ')})`);
        const ortType = ORT_TYPE_FOR[input.datatype];
        if (!ortType) throw badRequest(`input '${input.name}': datatype ${input.datatype} is not supported by the ONNX runtime over JSON`);
        const expected = inputTypes.get(input.name);
        if (expected && expected !== ortType) {
          throw badRequest(`input '${input.name}': the model expects ${DATATYPE_FOR_ORT[expected] ?? expected}, got ${input.datatype}`);
        }
        if (elementCount(input.shape) !== input.data.length) throw badRequest(`input '${input.name}': shape and data disagree`);
        feeds[input.name] = new Tensor(ortType as 'float32', typedArrayFor(ortType, input.data) as Float32Array, input.shape);
      }
      for (const name of session.inputNames) if (!(name in feeds)) throw badRequest(`missing input '${name}'`);
      const wanted = req.outputs?.map((o) => o.name) ?? [...session.outputNames];
      for (const w of wanted) if (!session.outputNames.includes(w)) throw badRequest(`unknown output '${w}' (model outputs: ${session.outputNames.join(', ')})`);
      // One run at a time per session: keeps CPU use predictable on small hosts.
      const run = queue.then(() => session.run(feeds, wanted));
      queue = run.catch(() => undefined);
      let results;
      try {
        results = await run;
      } catch (e) {
        throw badRequest(`inference failed: ${messageOf(e)}`);
      }
      const outputs: ResponseOutput[] = wanted.map((name) => {
        const t = results[name]!;
        const datatype = DATATYPE_FOR_ORT[t.type];
        if (!datatype) throw badRequest(`output '${name}' has type ${t.type}, which has no OIP datatype`);
        return { name, datatype, shape: [...t.dims], data: fromOrtData(t.type, t.data) };
      });
      return { outputs };
    },
    async unload() {
      await queue;
      await session.release();
    },
  };
}
