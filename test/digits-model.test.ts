// The project's example model: trained here, exported to ONNX, and checked by running the exported
// bytes in onnxruntime (not by trusting the exporter): accuracy, agreement with the TypeScript
// forward pass, the declared interface, and byte-for-byte determinism.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { loadDigitsCsv, splitDigits, fitDigits, predict, trainDigits } from '../examples/digits/train.js';
import { decodeModel } from '../examples/digits/onnx.js';

// From /work/shared/data/README.md (UCI optdigits test set, as scikit-learn's load_digits).
const ROWS = 1797;
const PIXELS = 64;

// Train once for the tests that only read the result; determinism trains again.
const first = trainDigits();
// The same training, keeping the parameters and split, for the TypeScript reference predictions.
const fitted = fitDigits();

async function runOrt(onnx: Uint8Array, rows: Float32Array[]): Promise<{ labels: number[]; probs: Float32Array }> {
  const session = await ort.InferenceSession.create(onnx);
  try {
    const flat = new Float32Array(rows.length * PIXELS);
    rows.forEach((r, i) => flat.set(r, i * PIXELS));
    const out = await session.run({ input: new ort.Tensor('float32', flat, [rows.length, PIXELS]) });
    const label = out['label']!;
    const probs = out['probabilities']!;
    assert.equal(label.type, 'int64');
    assert.deepEqual(label.dims, [rows.length]);
    assert.equal(probs.type, 'float32');
    assert.deepEqual(probs.dims, [rows.length, 10]);
    return { labels: Array.from(label.data as BigInt64Array, Number), probs: probs.data as Float32Array };
  } finally {
    await session.release();
  }
}

test('the bundled csv has the documented shape', () => {
  const { x, y } = loadDigitsCsv();
  assert.equal(x.length, ROWS);
  assert.equal(y.length, ROWS);
  for (const row of x) {
    assert.equal(row.length, PIXELS);
    for (const v of row) assert.ok(Number.isInteger(v) && v >= 0 && v <= 16);
  }
  assert.deepEqual([...new Set(y)].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('the split is a fixed 80/20 partition of all rows', () => {
  const a = splitDigits(42);
  const b = splitDigits(42);
  assert.deepEqual(a.testIndices, b.testIndices);
  assert.equal(a.train.x.length + a.test.x.length, ROWS);
  // 80% of 1797 is 1437.6: at least 359 rows held out, at most 360.
  assert.ok(a.test.x.length === 359 || a.test.x.length === 360, `test rows ${a.test.x.length}`);
  assert.equal(new Set(a.testIndices).size, a.testIndices.length);
  assert.notDeepEqual(splitDigits(7).testIndices, a.testIndices);
  assert.equal(first.testRows, a.test.x.length);
});

test('the ONNX model declares ir_version 8, opset 13, the producer and the expected interface', async () => {
  const m = decodeModel(first.onnx) as {
    ir_version: number;
    producer_name: string;
    opset_import: { domain?: string; version: number }[];
  };
  assert.equal(m.ir_version, 8);
  assert.equal(m.producer_name, 'modelseal-examples');
  assert.deepEqual(m.opset_import.map((o) => [o.domain ?? '', o.version]), [['', 13]]);

  const session = await ort.InferenceSession.create(first.onnx);
  try {
    assert.deepEqual(session.inputNames, ['input']);
    assert.deepEqual([...session.outputNames].sort(), ['label', 'probabilities']);
    const byName = (list: readonly ort.InferenceSession.ValueMetadata[], name: string) => {
      const v = list.find((e) => e.name === name);
      assert.ok(v && v.isTensor, `${name} is a tensor`);
      return v;
    };
    const input = byName(session.inputMetadata, 'input');
    assert.equal(input.type, 'float32');
    assert.equal(input.shape.length, 2);
    assert.equal(typeof input.shape[0], 'string'); // symbolic batch dimension
    assert.equal(input.shape[1], 64);
    const label = byName(session.outputMetadata, 'label');
    assert.equal(label.type, 'int64');
    assert.equal(label.shape.length, 1);
    assert.equal(typeof label.shape[0], 'string');
    const probs = byName(session.outputMetadata, 'probabilities');
    assert.equal(probs.type, 'float32');
    assert.equal(probs.shape.length, 2);
    assert.equal(probs.shape[1], 10);
  } finally {
    await session.release();
  }
});

test('onnxruntime reaches >= 0.90 on the held-out rows and agrees with the TypeScript model', async () => {
  const { model, split } = fitted;
  const { labels, probs } = await runOrt(first.onnx, split.test.x);
  assert.equal(labels.length, split.test.y.length);

  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === split.test.y[i]) correct++;
  const ortAccuracy = correct / labels.length;
  assert.ok(ortAccuracy >= 0.9, `onnxruntime held-out accuracy ${ortAccuracy}`);
  assert.equal(first.accuracy, ortAccuracy, 'reported accuracy is what the exported model achieves');

  const ts = predict(model, split.test.x);
  assert.deepEqual(labels, ts.labels);
  let maxDiff = 0;
  for (let i = 0; i < labels.length; i++) {
    let sum = 0;
    for (let k = 0; k < 10; k++) {
      const p = probs[i * 10 + k]!;
      sum += p;
      maxDiff = Math.max(maxDiff, Math.abs(p - ts.probabilities[i]![k]!));
    }
    assert.ok(Math.abs(sum - 1) < 1e-5, `row ${i} probabilities sum to ${sum}`);
    // ArgMax of the probabilities is the label.
    const row = Array.from(probs.subarray(i * 10, i * 10 + 10));
    assert.equal(row[labels[i]!], Math.max(...row));
  }
  assert.ok(maxDiff <= 1e-6, `max |p_ort - p_ts| = ${maxDiff}`);
});

test('scaling is inside the graph: raw 0..16 pixels, not pre-scaled ones, give the right answers', async () => {
  const { split } = fitted;
  const rows = split.test.x.slice(0, 50);
  const raw = await runOrt(first.onnx, rows);
  const prescaled = await runOrt(first.onnx, rows.map((r) => r.map((v) => v / 16)));
  const hits = (ls: number[]) => ls.filter((l, i) => l === split.test.y[i]).length;
  assert.ok(hits(raw.labels) >= 45, `raw pixels: ${hits(raw.labels)}/50`);
  assert.ok(hits(prescaled.labels) < hits(raw.labels));
});

test('training is deterministic: the same seed gives identical ONNX bytes, another seed does not', () => {
  const again = trainDigits({ seed: 42 });
  assert.ok(Buffer.isBuffer(again.onnx));
  assert.ok(again.onnx.equals(first.onnx), 'default seed is 42 and retraining reproduces the bytes');
  assert.equal(again.accuracy, first.accuracy);
  const other = trainDigits({ seed: 7 });
  assert.ok(!other.onnx.equals(first.onnx));
  assert.ok(other.accuracy >= 0.9, `seed 7 accuracy ${other.accuracy}`);
});
