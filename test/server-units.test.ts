/** Server building blocks: settings, env overrides, discovery, policy, auth, tensors, CLI flags. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { describeDiff, fileOfItem } from '../src/server/gate.js';
import { checkBearer } from '../src/server/http.js';
import { serveCommand } from '../src/server/index.js';
import { parseJsImplementation } from '../src/server/runtimes/js.js';
import { globToRegExp, matchPolicy, parsePolicy } from '../src/server/policy.js';
import { compareVersions, discoverModels, isLoopbackHost, loadServerSettings } from '../src/server/settings.js';
import { parseInferenceRequest } from '../src/server/tensors.js';

const made: string[] = [];
function tmp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

describe('server units', () => {
  test('settings: defaults, file, env (MLSERVER_ then MODELSEAL_), overrides, unknown fields', () => {
    const d = tmp('modelseal-settings-');
    const f = join(d, 'settings.json');
    writeFileSync(f, JSON.stringify({ http_port: 9000, model_repository_root: 'models', policy: 'p.json', parallel_workers: 0, load_models_at_startup: false }));
    let s = loadServerSettings({ settings: f, env: {} });
    assert.equal(s.http_port, 9000);
    assert.equal(s.grpc_port, 8081);
    assert.equal(s.model_repository_root, join(d, 'models'));
    assert.equal(s.policy, join(d, 'p.json'));
    assert.equal(s.load_models_at_startup, false);
    assert.equal(s.host, '127.0.0.1');
    s = loadServerSettings({ settings: f, env: { MLSERVER_HTTP_PORT: '9100', MODELSEAL_LOAD_MODELS_AT_STARTUP: 'true', MLSERVER_GRPC_PORT: 'none', MODELSEAL_EXTENSIONS: 'a,b' } });
    assert.deepEqual([s.http_port, s.load_models_at_startup, s.grpc_port, s.extensions], [9100, true, null, ['a', 'b']]);
    s = loadServerSettings({ settings: f, env: { MLSERVER_HTTP_PORT: '1', MODELSEAL_HTTP_PORT: '2' }, overrides: { host: '::1' } });
    assert.deepEqual([s.http_port, s.host], [2, '::1']);
    assert.throws(() => loadServerSettings({ settings: { bogus: 1 } as never, env: {} }), /unknown field 'bogus'/);
    assert.throws(() => loadServerSettings({ settings: { http_port: 'x' } as never, env: {} }), /http_port/);
    assert.throws(() => loadServerSettings({ env: { MLSERVER_HTTP_PORT: 'abc' } }), /MLSERVER_HTTP_PORT/);
  });

  test('loopback detection', () => {
    for (const h of ['127.0.0.1', 'localhost', '::1', '[::1]', '127.1.2.3']) assert.ok(isLoopbackHost(h), h);
    for (const h of ['0.0.0.0', '::', '192.168.0.1', 'example.com', '128.0.0.1']) assert.ok(!isLoopbackHost(h), h);
  });

  test('bearer token check', () => {
    assert.ok(checkBearer(undefined, undefined));
    assert.ok(checkBearer('Bearer abc', 'abc'));
    assert.ok(checkBearer('bearer   abc', 'abc'));
    assert.ok(!checkBearer(undefined, 'abc'));
    assert.ok(!checkBearer('Bearer abd', 'abc'));
    assert.ok(!checkBearer('Basic abc', 'abc'));
    assert.ok(!checkBearer('Bearer abcabc', 'abc'));
  });

  test('discovery: every model-settings.json, names default to the folder, bad files skipped', () => {
    const root = tmp('modelseal-disc-');
    mkdirSync(join(root, 'a'));
    writeFileSync(join(root, 'a', 'model-settings.json'), '{}');
    mkdirSync(join(root, 'b', '1'), { recursive: true });
    writeFileSync(join(root, 'b', '1', 'model-settings.json'), JSON.stringify({ name: 'bee', parameters: { version: 1 } }));
    mkdirSync(join(root, 'c'));
    writeFileSync(join(root, 'c', 'model-settings.json'), '{oops');
    const { models, problems } = discoverModels(root);
    assert.deepEqual(models.map((m) => [m.name, m.version, m.relFolder]), [['a', undefined, 'a'], ['bee', '1', 'b/1']]);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!.error, /not valid JSON/);
    assert.ok(compareVersions('10', '9') > 0 && compareVersions('b', 'a') > 0);
  });

  test('policy: globs, first match wins, defaults, validation', () => {
    const d = tmp('modelseal-policy-');
    writeFileSync(join(d, 'k.pub'), 'PEM');
    const p = parsePolicy(
      { entries: [{ models: 'fraud-*', publicKeys: ['k.pub'] }, { models: ['x?', 'scratch'], mode: 'off' }, { models: '*', mode: 'warn', publicKeys: ['k.pub'], signature: 'sigs/m.sig' }] },
      d,
    );
    assert.equal(matchPolicy(p, 'fraud-v2')!.index, 0);
    assert.equal(matchPolicy(p, 'fraud-v2')!.mode, 'enforce');
    assert.equal(matchPolicy(p, 'fraud-v2')!.signature, 'model.sig');
    assert.equal(matchPolicy(p, 'xy')!.mode, 'off');
    assert.equal(matchPolicy(p, 'other')!.signature, 'sigs/m.sig');
    assert.equal(matchPolicy(parsePolicy({ entries: [{ models: 'a', publicKeys: ['k.pub'] }] }, d), 'b'), undefined);
    assert.ok(globToRegExp('a.b*').test('a.bc') && !globToRegExp('a.b*').test('axbc'));
    assert.throws(() => parsePolicy({ entries: [{ models: 'a' }] }, d), /names no signer/);
    assert.throws(() => parsePolicy({ entries: [{ models: 'a', mode: 'audit', publicKeys: ['k.pub'] }] }, d), /mode must be/);
    assert.throws(() => parsePolicy({ entries: [{ models: 'a', publicKeys: ['missing.pub'] }] }, d), /cannot read public key/);
    assert.throws(() => parsePolicy({ entries: [{ models: 'a', mode: 'off', signature: '../x' }] }, d), /inside the model folder/);
    assert.throws(() => parsePolicy({ entries: [{ models: 'a', mode: 'off', typo: 1 }] }, d), /unknown field 'typo'/);
    assert.throws(() => parsePolicy({}, d), /entries/);
    // An empty identity or issuer is a policy mistake to report at startup, not at the first load
    // (where mode "warn" would load the model anyway).
    assert.throws(() => parsePolicy({ entries: [{ models: 'a', sigstore: [{ identity: '', issuer: 'https://accounts.example' }] }] }, d), /sigstore\[0\] needs non-empty/);
    assert.throws(() => parsePolicy({ entries: [{ models: 'a', sigstore: [{ identity: 'ml@example.com', issuer: '' }] }] }, d), /sigstore\[0\] needs non-empty/);
  });

  test('diff reasons name the files', () => {
    assert.equal(describeDiff({ changed: ['a'], missing: ['b'], extra: ['c'] }), 'files differ from the signature (changed: a; missing: b; extra: c)');
    assert.equal(fileOfItem('w.bin:0:100', true), 'w.bin');
    assert.equal(fileOfItem('a:b', false), 'a:b');
  });

  test('custom runtime implementation names stay inside the model folder', () => {
    assert.deepEqual(parseJsImplementation('models.RowStats'), { module: 'models.js', exportName: 'RowStats' });
    assert.deepEqual(parseJsImplementation('./lib/run.mjs:Model'), { module: 'lib/run.mjs', exportName: 'Model' });
    assert.deepEqual(parseJsImplementation('models.js'), { module: 'models.js' });
    for (const bad of ['../x.js', '/etc/x.js', 'a/../../x.js:M', 'mlserver_sklearn.SKLearnModel.x', 'node:fs']) assert.equal(parseJsImplementation(bad), undefined, bad);
  });

  test('tensor parsing: nested data, coercions, reasons', () => {
    const r = parseInferenceRequest({ id: 'x', inputs: [{ name: 'a', datatype: 'INT64', shape: [2, 2], data: [[1, '2'], [3, 4]] }, { name: 'b', datatype: 'BOOL', shape: [2], data: [1, false] }] });
    assert.deepEqual(r.inputs[0]!.data, [1n, 2n, 3n, 4n]);
    assert.deepEqual(r.inputs[1]!.data, [true, false]);
    assert.throws(() => parseInferenceRequest({ inputs: [{ name: 'a', datatype: 'INT32', shape: [1], data: [1.5] }] }), /not an integer/);
    assert.throws(() => parseInferenceRequest({ inputs: [{ name: 'a', datatype: 'FP32', shape: [2], data: [1, 2, 3] }] }), /more elements than its shape/);
    assert.throws(() => parseInferenceRequest({ inputs: [{ name: 'a', datatype: 'FP32', shape: [1] }] }), /'data' is missing/);
    assert.throws(() => parseInferenceRequest({ inputs: [{ name: 'a', datatype: 'FP32', shape: [1], data: [1] }, { name: 'a', datatype: 'FP32', shape: [1], data: [1] }] }), /given twice/);
  });

  test('serveCommand: usage errors exit 2, startup refusals exit 3', async () => {
    const quiet = { log() {} };
    let usage = '';
    const q = { logger: quiet, err: (t: string) => (usage += t) };
    assert.equal(await serveCommand(['--bogus'], q), 2);
    assert.match(usage, /unknown option '--bogus'[\s\S]*usage: modelseal serve/);
    assert.equal(await serveCommand(['--http-port', 'x'], q), 2);
    assert.equal(await serveCommand(['a', 'b'], q), 2);
    assert.equal(await serveCommand(['/nonexistent', '--policy', '/nonexistent/policy.json', '--http-port', '0', '--grpc-port', 'none'], { logger: quiet, env: {} }), 3);
  });
});

describe('snapshot location', () => {
  test('snapshots default to a private (0700) folder in the user cache, not the world-writable temp dir', async () => {
    const { createSnapshot, defaultSnapshotParent, removeSnapshot } = await import('../src/server/snapshot.js');
    const { statSync } = await import('node:fs');
    const cache = mkdtempSync(join(tmpdir(), 'cache-home-'));
    const saved = process.env['XDG_CACHE_HOME'];
    process.env['XDG_CACHE_HOME'] = cache;
    try {
      const folder = mkdtempSync(join(tmpdir(), 'snap-src-'));
      writeFileSync(join(folder, 'models.js'), 'export default class {}');
      const snap = await createSnapshot(folder);
      assert.equal(defaultSnapshotParent(), join(cache, 'modelseal', 'snapshots'));
      assert.ok(snap.dir.startsWith(defaultSnapshotParent() + '/'), snap.dir);
      assert.equal(statSync(defaultSnapshotParent()).mode & 0o777, 0o700);
      assert.equal(statSync(snap.dir).mode & 0o777, 0o700);
      await removeSnapshot(snap.dir);
      rmSync(folder, { recursive: true, force: true });
    } finally {
      if (saved === undefined) delete process.env['XDG_CACHE_HOME'];
      else process.env['XDG_CACHE_HOME'] = saved;
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
