/**
 * The project's own example model: a multinomial logistic-regression classifier for the UCI 8x8
 * handwritten digits (examples/digits/digits.csv.gz), trained here in plain TypeScript and exported
 * to ONNX. Nothing is downloaded; same seed, same bytes.
 *
 *   node dist/examples/digits/train.js <out.onnx> [--seed N]
 *
 * Graph (opset 13): input FLOAT[N,64] (raw pixels 0..16) -> Mul(1/16) -> MatMul(W[64,10]) -> Add(b[10])
 *   = logits -> Softmax(axis=1) = probabilities FLOAT[N,10], ArgMax(axis=1, keepdims=0) = label INT64[N].
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { DataType, encodeModel } from './onnx.js';

export const FEATURES = 64;
export const CLASSES = 10;
export const PIXEL_MAX = 16;
export const DEFAULT_SEED = 42;
/** Fraction of the shuffled rows used for training; the rest is held out. */
export const TRAIN_FRACTION = 0.8;
export const IR_VERSION = 8;
export const OPSET = 13;
export const PRODUCER_NAME = 'modelseal-examples';

const EPOCHS = 300;
const LEARNING_RATE = 0.5;
const MOMENTUM = 0.9;
const L2 = 1e-4;

function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('digits: no package.json above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** Path of the bundled data set (examples/digits/digits.csv.gz under the project root). */
export function digitsCsvPath(): string {
  return join(projectRoot(), 'examples', 'digits', 'digits.csv.gz');
}

/** Reads the bundled digits data: 1797 rows of 64 pixels (0..16) and a label (0..9). */
export function loadDigitsCsv(): { x: Float32Array[]; y: number[] } {
  const text = gunzipSync(readFileSync(digitsCsvPath())).toString('utf8');
  const x: Float32Array[] = [];
  const y: number[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === '') continue;
    const cells = line.split(',');
    if (cells.length !== FEATURES + 1) throw new Error(`digits.csv line ${n + 1}: ${cells.length} columns, want ${FEATURES + 1}`);
    const row = new Float32Array(FEATURES);
    for (let j = 0; j < FEATURES; j++) {
      const v = Number(cells[j]);
      if (!Number.isInteger(v) || v < 0 || v > PIXEL_MAX) throw new Error(`digits.csv line ${n + 1}: bad pixel ${cells[j]}`);
      row[j] = v;
    }
    const label = Number(cells[FEATURES]);
    if (!Number.isInteger(label) || label < 0 || label >= CLASSES) throw new Error(`digits.csv line ${n + 1}: bad label ${cells[FEATURES]}`);
    x.push(row);
    y.push(label);
  }
  return { x, y };
}

/** mulberry32: a small, well-known 32-bit seeded PRNG. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface DigitsSplit {
  train: { x: Float32Array[]; y: number[] };
  test: { x: Float32Array[]; y: number[] };
  /** Original row numbers (0-based, in the csv) of the held-out rows, in order. */
  testIndices: number[];
}

/** Deterministic seeded shuffle (Fisher-Yates) and an 80/20 train/test split. */
export function splitDigits(seed: number = DEFAULT_SEED): DigitsSplit {
  const { x, y } = loadDigitsCsv();
  const order = Array.from(x.keys());
  const rand = mulberry32(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const nTrain = Math.floor(order.length * TRAIN_FRACTION);
  const pick = (idx: number[]) => ({ x: idx.map((i) => x[i]!), y: idx.map((i) => y[i]!) });
  const testIndices = order.slice(nTrain);
  return { train: pick(order.slice(0, nTrain)), test: pick(testIndices), testIndices };
}

/** The trained parameters, already rounded to float32 (exactly what goes into the ONNX file). */
export interface DigitsModel {
  /** Row-major [FEATURES, CLASSES], applied to pixels / 16. */
  weights: Float32Array;
  bias: Float32Array;
}

/** Full-batch gradient descent with momentum on softmax cross-entropy plus a little L2. */
function fit(train: { x: Float32Array[]; y: number[] }): DigitsModel {
  const n = train.x.length;
  const w = new Float64Array(FEATURES * CLASSES);
  const b = new Float64Array(CLASSES);
  const vw = new Float64Array(w.length);
  const vb = new Float64Array(CLASSES);
  const gw = new Float64Array(w.length);
  const gb = new Float64Array(CLASSES);
  const xs = train.x.map((row) => Float64Array.from(row, (v) => v / PIXEL_MAX));
  const z = new Float64Array(CLASSES);
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    gw.fill(0);
    gb.fill(0);
    for (let r = 0; r < n; r++) {
      const xr = xs[r]!;
      for (let k = 0; k < CLASSES; k++) z[k] = b[k]!;
      for (let j = 0; j < FEATURES; j++) {
        const v = xr[j]!;
        if (v === 0) continue;
        const off = j * CLASSES;
        for (let k = 0; k < CLASSES; k++) z[k]! += v * w[off + k]!;
      }
      let max = -Infinity;
      for (let k = 0; k < CLASSES; k++) if (z[k]! > max) max = z[k]!;
      let sum = 0;
      for (let k = 0; k < CLASSES; k++) sum += z[k] = Math.exp(z[k]! - max);
      const label = train.y[r]!;
      for (let k = 0; k < CLASSES; k++) z[k] = z[k]! / sum - (k === label ? 1 : 0);
      for (let k = 0; k < CLASSES; k++) gb[k]! += z[k]!;
      for (let j = 0; j < FEATURES; j++) {
        const v = xr[j]!;
        if (v === 0) continue;
        const off = j * CLASSES;
        for (let k = 0; k < CLASSES; k++) gw[off + k]! += v * z[k]!;
      }
    }
    for (let i = 0; i < w.length; i++) {
      vw[i] = MOMENTUM * vw[i]! - LEARNING_RATE * (gw[i]! / n + L2 * w[i]!);
      w[i]! += vw[i]!;
    }
    for (let k = 0; k < CLASSES; k++) {
      vb[k] = MOMENTUM * vb[k]! - LEARNING_RATE * (gb[k]! / n);
      b[k]! += vb[k]!;
    }
  }
  return { weights: Float32Array.from(w), bias: Float32Array.from(b) };
}

/**
 * The TypeScript reference forward pass, in float32 like the ONNX graph: returns the ArgMax label
 * and softmax probabilities for each row of raw pixels (0..16).
 */
export function predict(model: DigitsModel, rows: ArrayLike<number>[]): { labels: number[]; probabilities: Float32Array[] } {
  const f = Math.fround;
  const scale = f(1 / PIXEL_MAX);
  const labels: number[] = [];
  const probabilities: Float32Array[] = [];
  for (const row of rows) {
    const logits = new Float32Array(CLASSES);
    for (let k = 0; k < CLASSES; k++) {
      let acc = 0;
      for (let j = 0; j < FEATURES; j++) acc = f(acc + f(f(row[j]! * scale) * model.weights[j * CLASSES + k]!));
      logits[k] = f(acc + model.bias[k]!);
    }
    let best = 0;
    for (let k = 1; k < CLASSES; k++) if (logits[k]! > logits[best]!) best = k;
    const max = logits[best]!;
    let sum = 0;
    const p = new Float32Array(CLASSES);
    for (let k = 0; k < CLASSES; k++) sum += p[k] = Math.exp(logits[k]! - max);
    for (let k = 0; k < CLASSES; k++) p[k] = p[k]! / sum;
    labels.push(best);
    probabilities.push(p);
  }
  return { labels, probabilities };
}

/** Builds the ONNX model (ir_version 8, opset 13) for trained parameters. */
export function exportDigitsOnnx(model: DigitsModel, docString?: string): Buffer {
  return encodeModel({
    irVersion: IR_VERSION,
    opset: OPSET,
    producerName: PRODUCER_NAME,
    producerVersion: '0.1.0',
    ...(docString !== undefined ? { docString } : {}),
    graphName: 'digits_logreg',
    inputs: [{ name: 'input', elemType: DataType.FLOAT, shape: ['N', FEATURES] }],
    outputs: [
      { name: 'label', elemType: DataType.INT64, shape: ['N'] },
      { name: 'probabilities', elemType: DataType.FLOAT, shape: ['N', CLASSES] },
    ],
    initializers: [
      { name: 'pixel_scale', dims: [], data: Float32Array.of(1 / PIXEL_MAX) },
      { name: 'W', dims: [FEATURES, CLASSES], data: model.weights },
      { name: 'B', dims: [CLASSES], data: model.bias },
    ],
    nodes: [
      { name: 'scale', opType: 'Mul', inputs: ['input', 'pixel_scale'], outputs: ['scaled'] },
      { name: 'matmul', opType: 'MatMul', inputs: ['scaled', 'W'], outputs: ['xw'] },
      { name: 'bias', opType: 'Add', inputs: ['xw', 'B'], outputs: ['logits'] },
      { name: 'softmax', opType: 'Softmax', inputs: ['logits'], outputs: ['probabilities'], ints: { axis: 1 } },
      { name: 'argmax', opType: 'ArgMax', inputs: ['logits'], outputs: ['label'], ints: { axis: 1, keepdims: 0 } },
    ],
  });
}

/** Trains and returns the parameters, the split and the held-out accuracy of the TypeScript model. */
export function fitDigits(options?: { seed?: number }): { model: DigitsModel; split: DigitsSplit; accuracy: number } {
  const split = splitDigits(options?.seed ?? DEFAULT_SEED);
  const model = fit(split.train);
  const { labels } = predict(model, split.test.x);
  const correct = labels.filter((l, i) => l === split.test.y[i]).length;
  return { model, split, accuracy: correct / split.test.y.length };
}

/** Trains the example classifier and exports it as ONNX; accuracy is on the held-out 20%. */
export function trainDigits(options?: { seed?: number }): { onnx: Buffer; accuracy: number; testRows: number } {
  const seed = options?.seed ?? DEFAULT_SEED;
  const { model, split, accuracy } = fitDigits({ seed });
  const doc = `Multinomial logistic regression on UCI 8x8 digits; seed ${seed}; held-out accuracy ${accuracy.toFixed(4)} on ${split.test.y.length} rows`;
  return { onnx: exportDigitsOnnx(model, doc), accuracy, testRows: split.test.y.length };
}

function main(argv: string[]): number {
  const args = [...argv];
  let seed = DEFAULT_SEED;
  const s = args.indexOf('--seed');
  if (s !== -1) {
    seed = Number(args[s + 1]);
    if (!Number.isInteger(seed)) {
      process.stderr.write('--seed needs an integer\n');
      return 2;
    }
    args.splice(s, 2);
  }
  if (args.length !== 1) {
    process.stderr.write('usage: node dist/examples/digits/train.js <out.onnx> [--seed N]\n');
    return 2;
  }
  const out = resolve(args[0]!);
  const { onnx, accuracy, testRows } = trainDigits({ seed });
  writeFileSync(out, onnx);
  process.stdout.write(`accuracy ${accuracy.toFixed(4)} on ${testRows} held-out rows; wrote ${out} (${onnx.length} bytes)\n`);
  return 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
