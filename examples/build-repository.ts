/**
 * Builds the example model repository the demo and the server tests use:
 *
 *   DIR/settings.json        load_models_at_startup: false, model_repository_root "models", policy "policy.json"
 *   DIR/policy.json          naive-model: mode "off"; everything else: signed by keys/demo.pub (enforce)
 *   DIR/keys/demo.{key,pub}  a fresh ECDSA P-256 demo key pair
 *   DIR/models/good-model        digits classifier (ONNX) + model-settings.json, signed
 *   DIR/models/tampered-model    good-model's files and signature, model.onnx changed by one byte
 *   DIR/models/custom-good       a JavaScript custom runtime (models.js), signed
 *   DIR/models/custom-tampered   custom-good's signature, models.js rewritten to drop a marker file when imported
 *   DIR/models/naive-model       the same tampered files, served under a policy entry with verification off
 *
 *   node dist/examples/build-repository.js DIR
 */
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sign } from '../src/api.js';
import { keySigner } from '../src/signing/key.js';
import { loadDigitsCsv, trainDigits } from './digits/train.js';

export interface ExampleRepository {
  dir: string;
  settingsPath: string;
  policyPath: string;
  modelsDir: string;
  privateKeyPath: string;
  publicKeyPath: string;
  /** Written by the tampered custom runtime's top-level code when it is imported. */
  markerPath: string;
  /** Held-out accuracy of the digits model. */
  accuracy: number;
  /** A few digits rows (64 pixels, 0..16) and their labels, for inference calls. */
  samples: { rows: number[][]; labels: number[] };
}

export function generateDemoKeyPair(): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export async function signFolder(folder: string, privateKeyPem: string, signature = 'model.sig'): Promise<void> {
  await sign(folder, { signer: keySigner({ privateKey: privateKeyPem }), signaturePath: join(folder, signature) });
}

/** The custom runtime: mean and max of each row. */
export const CUSTOM_MODELS_JS = `// A custom runtime, as MLServer's models.py: the server imports this module to serve the model.
export class RowStats {
  constructor(settings) {
    this.name = settings.name;
  }
  async load() {
    this.ready = true;
  }
  predict(request) {
    const input = request.inputs[0];
    const [rows, cols] = input.shape.length === 2 ? input.shape : [1, input.shape[0] ?? 0];
    const mean = [];
    const max = [];
    for (let r = 0; r < rows; r++) {
      const row = input.data.slice(r * cols, (r + 1) * cols).map(Number);
      mean.push(row.reduce((a, b) => a + b, 0) / (cols || 1));
      max.push(Math.max(...row));
    }
    return {
      outputs: [
        { name: 'mean', datatype: 'FP64', shape: [rows], data: mean },
        { name: 'max', datatype: 'FP64', shape: [rows], data: max },
      ],
    };
  }
}
`;

/** The tampered runtime: same behaviour, plus top-level code that runs on import. */
export function tamperedModelsJs(markerPath: string): string {
  return `import { writeFileSync } from 'node:fs';
// Planted: runs as soon as the module is imported, before any request.
writeFileSync(${JSON.stringify(markerPath)}, 'code planted in an unverified model ran at ' + new Date().toISOString() + '\\n');
${CUSTOM_MODELS_JS}`;
}

export const CUSTOM_SETTINGS = {
  implementation: 'models.RowStats',
  platform: 'modelseal_js',
  inputs: [{ name: 'x', datatype: 'FP64', shape: [-1, -1] }],
  outputs: [
    { name: 'mean', datatype: 'FP64', shape: [-1] },
    { name: 'max', datatype: 'FP64', shape: [-1] },
  ],
};

export const DIGITS_SETTINGS = {
  implementation: 'onnx',
  platform: 'onnx_onnxv1',
  parameters: { uri: 'model.onnx' },
  inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 64] }],
  outputs: [
    { name: 'label', datatype: 'INT64', shape: [-1] },
    { name: 'probabilities', datatype: 'FP32', shape: [-1, 10] },
  ],
};

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
}

export async function buildExampleRepository(dirArg: string, options: { onnx?: Buffer } = {}): Promise<ExampleRepository> {
  const dir = resolve(dirArg);
  const modelsDir = join(dir, 'models');
  const keysDir = join(dir, 'keys');
  mkdirSync(modelsDir, { recursive: true });
  mkdirSync(keysDir, { recursive: true, mode: 0o700 });
  const markerPath = join(dir, 'MARKER-unverified-code-ran.txt');

  const { privateKey, publicKey } = generateDemoKeyPair();
  const privateKeyPath = join(keysDir, 'demo.key');
  const publicKeyPath = join(keysDir, 'demo.pub');
  writeFileSync(privateKeyPath, privateKey, { mode: 0o600 });
  writeFileSync(publicKeyPath, publicKey);

  // Model settings carry no "name": it defaults to the folder name, so a copy differs only where tampered.
  let onnx = options.onnx;
  let accuracy = NaN;
  if (!onnx) {
    const trained = trainDigits();
    onnx = trained.onnx;
    accuracy = trained.accuracy;
  }
  const good = join(modelsDir, 'good-model');
  mkdirSync(good, { recursive: true });
  writeFileSync(join(good, 'model.onnx'), onnx);
  writeJson(join(good, 'model-settings.json'), DIGITS_SETTINGS);
  await signFolder(good, privateKey);

  const tampered = join(modelsDir, 'tampered-model');
  cpSync(good, tampered, { recursive: true });
  const bytes = readFileSync(join(tampered, 'model.onnx'));
  const at = Math.floor(bytes.length / 2); // inside the weight matrix
  bytes[at] = bytes[at]! ^ 0x01; // one bit of one weight: still a valid model, different numbers
  writeFileSync(join(tampered, 'model.onnx'), bytes);

  const customGood = join(modelsDir, 'custom-good');
  mkdirSync(customGood, { recursive: true });
  writeFileSync(join(customGood, 'models.js'), CUSTOM_MODELS_JS);
  writeJson(join(customGood, 'model-settings.json'), CUSTOM_SETTINGS);
  await signFolder(customGood, privateKey);

  for (const name of ['custom-tampered', 'naive-model']) {
    const d = join(modelsDir, name);
    cpSync(customGood, d, { recursive: true });
    writeFileSync(join(d, 'models.js'), tamperedModelsJs(markerPath));
  }

  const policyPath = join(dir, 'policy.json');
  writeJson(policyPath, {
    entries: [
      { models: 'naive-model', mode: 'off', comment: 'verification explicitly disabled: the server logs this loudly' },
      { models: '*', publicKeys: ['keys/demo.pub'], signature: 'model.sig' },
    ],
  });
  const settingsPath = join(dir, 'settings.json');
  writeJson(settingsPath, {
    server_name: 'modelseal',
    model_repository_root: 'models',
    load_models_at_startup: false,
    host: '127.0.0.1',
    http_port: 8080,
    grpc_port: 8081,
    metrics_endpoint: '/metrics',
    policy: 'policy.json',
  });

  const { x, y } = loadDigitsCsv();
  const pick = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((k) => 1700 + k);
  const samples = { rows: pick.map((i) => Array.from(x[i]!)), labels: pick.map((i) => y[i]!) };
  return { dir, settingsPath, policyPath, modelsDir, privateKeyPath, publicKeyPath, markerPath, accuracy, samples };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write('usage: node dist/examples/build-repository.js DIR\n');
    process.exit(2);
  }
  if (existsSync(join(out, 'models'))) {
    process.stderr.write(`${out}/models already exists: choose an empty directory\n`);
    process.exit(2);
  }
  const repo = await buildExampleRepository(out);
  process.stdout.write(
    `example repository in ${repo.dir}\n  models: ${repo.modelsDir}\n  policy: ${repo.policyPath}\n  settings: ${repo.settingsPath}\n` +
      `  digits model accuracy (held out): ${repo.accuracy.toFixed(3)}\n` +
      `serve it: node dist/src/cli/main.js serve ${repo.modelsDir} --settings ${repo.settingsPath}\n`,
  );
}
