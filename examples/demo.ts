/**
 * `npm run demo`: the whole story with real processes and real HTTP calls.
 *
 *   1. The CLI: sign a small model with a key, verify it, tamper one byte, verification refuses it
 *      and names the file.
 *   2. The server: build the example repository, start `modelseal serve` as a real process, load the
 *      good model and infer digits, watch the tampered ones get refused (and their planted code never
 *      run), then see the same planted code run once verification is turned off for naive-model.
 *
 * Exits 0 only if every step behaved as expected.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildExampleRepository, generateDemoKeyPair } from './build-repository.js';
import { trainDigits } from './digits/train.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const CLI = join(HERE, '..', 'src', 'cli', 'main.js');
const SERVE_FALLBACK = join(HERE, '..', 'src', 'server', 'main.js');
const tty = process.stdout.isTTY;
const c = (code: string, s: string): string => (tty ? `\u001b[${code}m${s}\u001b[0m` : s);
const bold = (s: string): string => c('1', s);
const dim = (s: string): string => c('2', s);

const failures: string[] = [];
let stepNo = 0;
function step(title: string): void {
  stepNo++;
  process.stdout.write(`\n${bold(`[${stepNo}] ${title}`)}\n`);
}
function check(ok: boolean, what: string): void {
  process.stdout.write(`    ${ok ? c('32', 'OK ') : c('31', 'FAIL')} ${what}\n`);
  if (!ok) failures.push(`[${stepNo}] ${what}`);
}
function show(text: string): void {
  for (const line of text.trimEnd().split('\n')) process.stdout.write(`    ${dim('│')} ${line}\n`);
}

function runCli(args: string[]): { status: number | null; out: string } {
  process.stdout.write(`    $ modelseal ${args.map((a) => (a.includes(' ') ? JSON.stringify(a) : a)).join(' ')}\n`);
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (out.trim()) show(out);
  process.stdout.write(`    ${dim(`exit ${r.status}`)}\n`);
  return { status: r.status, out };
}

async function cliStory(work: string, onnx: Buffer): Promise<void> {
  process.stdout.write(`\n${bold('Part 1 — the CLI: sign, verify, tamper, refuse')}\n`);
  if (!existsSync(CLI)) {
    check(false, `the CLI is not built (${CLI})`);
    return;
  }
  const model = join(work, 'my-model');
  mkdirSync(model, { recursive: true });
  writeFileSync(join(model, 'model.onnx'), onnx);
  writeFileSync(join(model, 'config.json'), JSON.stringify({ classes: 10, input: '8x8 digits' }, null, 2) + '\n');
  const keys = generateDemoKeyPair();
  const priv = join(work, 'signing.key');
  const pub = join(work, 'signing.pub');
  writeFileSync(priv, keys.privateKey, { mode: 0o600 });
  writeFileSync(pub, keys.publicKey);
  const sig = join(model, 'model.sig');

  step('Sign a small model (digits classifier + config) with a private key');
  let r = runCli(['sign', 'key', model, '--private-key', priv, '--signature', sig]);
  check(r.status === 0 && existsSync(sig), 'signature written');

  step('Verify it with the public key');
  r = runCli(['verify', 'key', model, '--public-key', pub, '--signature', sig]);
  check(r.status === 0, 'verification succeeds');

  step('Tamper with one byte of the weights, verify again');
  const bytes = readFileSync(join(model, 'model.onnx'));
  const at = Math.floor(bytes.length / 2);
  bytes[at] = bytes[at]! ^ 0x01;
  writeFileSync(join(model, 'model.onnx'), bytes);
  process.stdout.write(`    (flipped one bit at offset ${at} of model.onnx)\n`);
  r = runCli(['verify', 'key', model, '--public-key', pub, '--signature', sig]);
  check(r.status === 6, 'refused with exit status 6 (model differs from its signature)');
  check(/model\.onnx/.test(r.out) && /changed/.test(r.out), 'the refusal names the changed file');
}

interface Http {
  status: number;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function serverStory(work: string, onnx: Buffer): Promise<void> {
  process.stdout.write(`\n${bold('Part 2 — the server: only models that verify are served')}\n`);
  step('Build the example repository (signed models, tampered copies, a custom runtime)');
  const repo = await buildExampleRepository(join(work, 'repo'), { onnx });
  show(
    [
      `${repo.modelsDir}/`,
      '  good-model/      digits classifier (ONNX), signed with keys/demo.key',
      "  tampered-model/  good-model's signature, one bit of model.onnx flipped",
      '  custom-good/     a JavaScript custom runtime (models.js), signed',
      "  custom-tampered/ custom-good's signature, models.js rewritten to drop a marker file on import",
      '  naive-model/     the same tampered files; policy.json turns verification OFF for it',
      `policy: ${JSON.stringify(JSON.parse(readFileSync(repo.policyPath, 'utf8')).entries.map((e: { models: string; mode?: string }) => `${e.models}: ${e.mode ?? 'enforce'}`))}`,
    ].join('\n'),
  );
  check(!existsSync(repo.markerPath), 'no marker file yet');

  step('Start the server: modelseal serve (a real process)');
  const entry = existsSync(CLI) ? [CLI, 'serve'] : [SERVE_FALLBACK];
  const args = [...entry, repo.modelsDir, '--settings', repo.settingsPath, '--policy', repo.policyPath, '--http-port', '0', '--grpc-port', '0'];
  process.stdout.write(`    $ node ${args.map((a) => a.replace(work, '$WORK')).join(' ')}\n`);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(MLSERVER|MODELSEAL)_/.test(k)));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  const logs: Array<Record<string, unknown>> = [];
  let printed = 0;
  const printLogs = (): void => {
    for (; printed < logs.length; printed++) {
      const l = logs[printed]!;
      if (l.level === 'WARN' || l.level === 'ERROR') process.stdout.write(`    ${c('33', `server log ${l.level}:`)} ${String(l.message)}\n`);
    }
  };
  let exited: number | null | undefined;
  const exit = new Promise<number | null>((res) => child.on('exit', (code) => res((exited = code))));
  // If the demo itself dies (Ctrl-C, a closed pipe such as `| head`), the server must not outlive it.
  const killServer = (): void => {
    if (exited === undefined) child.kill('SIGTERM');
  };
  process.once('exit', killServer);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => process.exit(130));
  process.stdout.on('error', () => process.exit(141)); // EPIPE: the reader went away
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(() => reject(new Error('the server did not start within 30 s')), 30_000);
      child.stderr.on('data', (d: Buffer) => {
        buf += d.toString();
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          try {
            const rec = JSON.parse(line) as Record<string, unknown>;
            logs.push(rec);
            if (rec.message === 'modelseal server listening') {
              clearTimeout(timer);
              resolve(String(rec.http));
            }
          } catch {
            logs.push({ level: 'RAW', message: line });
          }
        }
      });
      void exit.then((code) => {
        clearTimeout(timer);
        reject(new Error(`the server exited with ${code}: ${logs.map((l) => l.message).join(' | ')}`));
      });
    });
    printLogs();
    check(true, `listening at ${url}`);

    const http = async (method: string, path: string, body?: unknown): Promise<Http> => {
      const res = await fetch(url + path, { method, headers: { 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      const text = await res.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      const preview = path === '/metrics' ? '(Prometheus text)' : text.length > 160 ? text.slice(0, 157) + '...' : text;
      process.stdout.write(`    ${method} ${path} → ${res.status}${text ? ` ${preview}` : ''}\n`);
      await new Promise((r) => setTimeout(r, 30));
      printLogs();
      return { status: res.status, text, json };
    };
    const indexTable = (items: Array<{ name: string; state: string; reason: string }>): void =>
      show(items.map((i) => `${i.name.padEnd(16)} ${i.state.padEnd(12)} ${i.reason}`).join('\n'));

    step('Health and the repository index (nothing loaded: load_models_at_startup is false)');
    check((await http('GET', '/v2/health/ready')).status === 200, 'server ready');
    let r = await http('POST', '/v2/repository/index', {});
    indexTable(r.json);
    check(r.status === 200 && r.json.length === 5 && r.json.every((i: { state: string }) => i.state === 'UNAVAILABLE'), 'five models found, none loaded');

    step('Load good-model: verified against the policy, then served');
    r = await http('POST', '/v2/repository/models/good-model/load', {});
    check(r.status === 200, 'load → 200');
    r = await http('GET', '/v2/models/good-model');
    check(r.json?.parameters?.['modelseal.verification'] === 'verified', `metadata says verified (signer key hint ${String(r.json?.parameters?.['modelseal.signer.key_hint']).slice(0, 16)}…)`);

    step('Infer a few handwritten digits');
    const rows = repo.samples.rows.slice(0, 6);
    r = await http('POST', '/v2/models/good-model/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [rows.length, 64], data: rows }], outputs: [{ name: 'label' }] });
    const predicted: number[] = r.json?.outputs?.[0]?.data ?? [];
    const art = rows.slice(0, 3).map((row) => Array.from({ length: 8 }, (_, y) => row.slice(y * 8, y * 8 + 8).map((v) => (v > 10 ? '#' : v > 4 ? '+' : '.')).join('')));
    show(art[0]!.map((_, y) => art.map((a) => a[y]).join('   ')).join('\n'));
    show(`predicted: ${predicted.join(' ')}\ntrue:      ${repo.samples.labels.slice(0, rows.length).join(' ')}`);
    const right = predicted.filter((p, i) => p === repo.samples.labels[i]).length;
    check(r.status === 200 && right >= rows.length - 1, `${right}/${rows.length} digits right`);

    step('Load tampered-model (good-model\'s signature, one bit changed)');
    r = await http('POST', '/v2/repository/models/tampered-model/load', {});
    check(r.status === 400 && /^model 'tampered-model' failed signature verification: .*changed: model\.onnx/.test(r.json?.error ?? ''), 'refused with 400, naming model.onnx');
    r = await http('GET', '/v2/models/tampered-model/ready');
    check(r.status === 404, 'not registered: ready → 404');
    r = await http('POST', '/v2/repository/index', {});
    indexTable(r.json);
    const t = r.json.find((i: { name: string }) => i.name === 'tampered-model');
    check(t?.state === 'UNAVAILABLE' && /changed: model\.onnx/.test(t.reason), 'index: UNAVAILABLE with the reason');

    step('The custom runtime: custom-good loads; its tampered twin is refused before any import');
    r = await http('POST', '/v2/repository/models/custom-good/load', {});
    check(r.status === 200, 'custom-good verified and loaded');
    r = await http('POST', '/v2/models/custom-good/infer', { inputs: [{ name: 'x', datatype: 'FP64', shape: [2, 3], data: [[1, 2, 3], [10, 20, 60]] }] });
    check(r.status === 200 && JSON.stringify(r.json.outputs[0].data) === '[2,30]', 'custom-good answers (row means 2 and 30)');
    r = await http('POST', '/v2/repository/models/custom-tampered/load', {});
    check(r.status === 400 && /changed: models\.js/.test(r.json?.error ?? ''), 'custom-tampered refused, naming models.js');
    check(!existsSync(repo.markerPath), `no marker file: the planted code never ran (${repo.markerPath.replace(work, '$WORK')})`);

    step('naive-model: the same tampered files, with verification turned OFF in the policy');
    r = await http('POST', '/v2/repository/models/naive-model/load', {});
    check(r.status === 200, 'naive-model loads (the server logged loudly that verification is off)');
    const marker = existsSync(repo.markerPath);
    check(marker, 'the marker file appeared: the planted code ran inside the server');
    if (marker) show(readFileSync(repo.markerPath, 'utf8'));

    step('Metrics: verification outcomes');
    r = await http('GET', '/metrics');
    show(r.text.split('\n').filter((l) => l.startsWith('modelseal_model_verifications_total')).join('\n'));
    const refused = r.text.split('\n').filter((l) => l.startsWith('modelseal_model_verifications_total') && l.includes('result="refused"')).length;
    check(refused === 2, 'both refusals are counted');
  } finally {
    step('Stop the server (SIGTERM)');
    if (exited === undefined) child.kill('SIGTERM');
    const code = await Promise.race([exit, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000))]);
    if (code === 'timeout') child.kill('SIGKILL');
    printLogs();
    check(code === 0, `server exited with ${code}`);
  }
}

async function main(): Promise<number> {
  const keep = process.argv.includes('--keep');
  const work = mkdtempSync(join(tmpdir(), 'modelseal-demo-'));
  process.stdout.write(`${bold('modelseal demo')}: sign models, verify them, and serve only what verifies.\n${dim(`work directory: ${work}`)}\n`);
  try {
    const { onnx, accuracy } = trainDigits();
    process.stdout.write(`\nTrained the example digits classifier in-process (held-out accuracy ${(accuracy * 100).toFixed(1)}%).\n`);
    await cliStory(work, onnx);
    await serverStory(work, onnx);
  } catch (e) {
    failures.push(`unexpected error: ${(e as Error).message}`);
  } finally {
    if (!keep) rmSync(work, { recursive: true, force: true });
  }
  if (failures.length) {
    process.stdout.write(`\n${c('31', bold(`demo FAILED: ${failures.length} step(s) did not behave as expected`))}\n${failures.map((f) => `  - ${f}`).join('\n')}\n`);
    return 1;
  }
  process.stdout.write(`\n${c('32', bold('demo OK'))}: every step behaved as expected.\n`);
  return 0;
}

process.exitCode = await main();
