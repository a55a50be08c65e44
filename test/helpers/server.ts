/** Helpers for the server tests: a fresh example repository per test, a server on 127.0.0.1:0, HTTP calls. */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildExampleRepository, type ExampleRepository } from '../../examples/build-repository.js';
import { trainDigits } from '../../examples/digits/train.js';
import { memoryLogger, startServer, type RunningServer, type StartServerOptions } from '../../src/server/index.js';

let onnxCache: Buffer | undefined;
/** The digits model, trained once per test process. */
export function digitsOnnx(): Buffer {
  onnxCache ??= trainDigits().onnx;
  return onnxCache;
}

let templateDir: string | undefined;
let template: ExampleRepository | undefined;
const cleanups: string[] = [];

/** A private copy of the example repository (built once per process, copied per test). */
export async function exampleRepo(): Promise<ExampleRepository> {
  if (!template) {
    templateDir = mkdtempSync(join(tmpdir(), 'modelseal-srv-template-'));
    cleanups.push(templateDir);
    template = await buildExampleRepository(templateDir, { onnx: digitsOnnx() });
  }
  const dir = mkdtempSync(join(tmpdir(), 'modelseal-srv-'));
  cleanups.push(dir);
  cpSync(template.dir, dir, { recursive: true });
  const re = (p: string): string => join(dir, p.slice(template!.dir.length));
  // The tampered models.js embeds the template's marker path: rewrite it for this copy.
  const marker = re(template.markerPath);
  for (const m of ['custom-tampered', 'naive-model']) {
    const { tamperedModelsJs } = await import('../../examples/build-repository.js');
    writeFileSync(join(dir, 'models', m, 'models.js'), tamperedModelsJs(marker));
  }
  return {
    ...template,
    dir,
    settingsPath: re(template.settingsPath),
    policyPath: re(template.policyPath),
    modelsDir: re(template.modelsDir),
    privateKeyPath: re(template.privateKeyPath),
    publicKeyPath: re(template.publicKeyPath),
    markerPath: marker,
  };
}

export function cleanupAll(): void {
  for (const d of cleanups.splice(0)) rmSync(d, { recursive: true, force: true });
}

export type TestServer = RunningServer & { logs: ReturnType<typeof memoryLogger> };

export async function startTestServer(repo: ExampleRepository, options: StartServerOptions = {}): Promise<TestServer> {
  const logs = memoryLogger();
  const s = await startServer({
    settings: repo.settingsPath,
    repository: repo.modelsDir,
    httpPort: 0,
    grpcPort: null,
    env: {},
    logger: logs,
    ...options,
  });
  return Object.assign(s, { logs });
}

export interface Reply {
  status: number;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Headers;
}

export async function call(server: { url: string }, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const r = await fetch(server.url + path, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' || Buffer.isBuffer(body) ? (body as string) : JSON.stringify(body) }),
  });
  const text = await r.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: r.status, text, json, headers: r.headers };
}

export function digitsRequest(rows: number[][], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { inputs: [{ name: 'input', datatype: 'FP32', shape: [rows.length, 64], data: rows }], ...extra };
}
