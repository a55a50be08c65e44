/** The verifying inference server over REST: the story, every endpoint and every refusal. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, unlinkSync, writeFileSync, cpSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { generateDemoKeyPair, signFolder, CUSTOM_SETTINGS } from '../examples/build-repository.js';
import { encodeModel } from '../examples/digits/onnx.js';
import { startServer, silentLogger } from '../src/server/index.js';
import { MT_KEYS } from './helpers/paths.js';
import { sign } from '../src/api.js';
import { certificateSigner } from '../src/signing/certificate.js';
import { call, cleanupAll, digitsRequest, exampleRepo, startTestServer } from './helpers/server.js';

after(cleanupAll);

describe('server: the story', () => {
  test('index, load good, infer, tampered refused with reason, UNAVAILABLE, not registered', async () => {
    const repo = await exampleRepo();
    const s = await startTestServer(repo);
    try {
      let r = await call(s, 'POST', '/v2/repository/index', {});
      assert.equal(r.status, 200);
      assert.deepEqual(
        r.json.map((i: { name: string }) => i.name),
        ['custom-good', 'custom-tampered', 'good-model', 'naive-model', 'tampered-model'],
      );
      assert.ok(r.json.every((i: { state: string; reason: string }) => i.state === 'UNAVAILABLE' && i.reason === ''));

      r = await call(s, 'POST', '/v2/repository/models/good-model/load');
      assert.equal(r.status, 200, r.text);
      assert.equal(r.text, '');
      r = await call(s, 'POST', '/v2/models/good-model/infer', digitsRequest(repo.samples.rows, { id: 'req-1' }));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.model_name, 'good-model');
      assert.equal(r.json.id, 'req-1');
      const label = r.json.outputs.find((o: { name: string }) => o.name === 'label');
      assert.equal(label.datatype, 'INT64');
      assert.deepEqual(label.shape, [10]);
      const correct = label.data.filter((l: number, i: number) => l === repo.samples.labels[i]).length;
      assert.ok(correct >= 8, `only ${correct}/10 digits right`);
      const probs = r.json.outputs.find((o: { name: string }) => o.name === 'probabilities');
      assert.deepEqual(probs.shape, [10, 10]);
      assert.equal(probs.datatype, 'FP32');

      r = await call(s, 'POST', '/v2/repository/models/tampered-model/load', {});
      assert.equal(r.status, 400);
      assert.equal(r.json.error, "model 'tampered-model' failed signature verification: files differ from the signature (changed: model.onnx)");
      r = await call(s, 'POST', '/v2/repository/index', {});
      const t = r.json.find((i: { name: string }) => i.name === 'tampered-model');
      assert.equal(t.state, 'UNAVAILABLE');
      assert.match(t.reason, /failed signature verification: .*changed: model\.onnx/);
      assert.equal((await call(s, 'GET', '/v2/models/tampered-model/ready')).status, 404);
      assert.equal((await call(s, 'POST', '/v2/models/tampered-model/infer', digitsRequest(repo.samples.rows))).status, 404);
      r = await call(s, 'POST', '/v2/repository/index', { ready: true });
      assert.deepEqual(r.json.map((i: { name: string }) => i.name), ['good-model']);
    } finally {
      await s.close();
    }
  });

  test('custom runtime: tampered twin refused and its code never runs; naive-model (mode off) runs it', async () => {
    const repo = await exampleRepo();
    const s = await startTestServer(repo);
    try {
      let r = await call(s, 'POST', '/v2/repository/models/custom-tampered/load', {});
      assert.equal(r.status, 400);
      assert.match(r.json.error, /^model 'custom-tampered' failed signature verification: .*changed: models\.js/);
      assert.equal(existsSync(repo.markerPath), false, 'code from the refused model ran');

      r = await call(s, 'POST', '/v2/repository/models/custom-good/load');
      assert.equal(r.status, 200, r.text);
      r = await call(s, 'POST', '/v2/models/custom-good/infer', { inputs: [{ name: 'x', datatype: 'FP64', shape: [2, 3], data: [[1, 2, 3], [4, 5, 9]] }] });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json.outputs[0], { name: 'mean', shape: [2], datatype: 'FP64', data: [2, 6] });
      assert.equal(existsSync(repo.markerPath), false);

      r = await call(s, 'POST', '/v2/repository/models/naive-model/load');
      assert.equal(r.status, 200, r.text);
      assert.equal(existsSync(repo.markerPath), true, 'with verification off the planted code runs');
      assert.ok(s.logs.records.some((l) => l.level === 'warn' && /verification is OFF/.test(l.message)));
      assert.ok(s.logs.records.some((l) => l.level === 'warn' && /WITHOUT signature verification/.test(l.message)));
      r = await call(s, 'POST', '/v2/repository/index', {});
      assert.match(r.json.find((i: { name: string }) => i.name === 'naive-model').reason, /without verification/);
      r = await call(s, 'GET', '/v2/models/naive-model');
      assert.equal(r.json.parameters['modelseal.verification'], 'skipped');
    } finally {
      await s.close();
    }
  });
});

describe('server: refusals', () => {
  test('unsigned model (signature missing)', async () => {
    const repo = await exampleRepo();
    unlinkSync(join(repo.modelsDir, 'good-model', 'model.sig'));
    const s = await startTestServer(repo);
    try {
      const r = await call(s, 'POST', '/v2/repository/models/good-model/load', {});
      assert.equal(r.status, 400);
      assert.equal(r.json.error, "model 'good-model' failed signature verification: signature file 'model.sig' not found in the model folder (unsigned model)");
    } finally {
      await s.close();
    }
  });

  test('wrong key', async () => {
    const repo = await exampleRepo();
    writeFileSync(repo.publicKeyPath, generateDemoKeyPair().publicKey);
    const s = await startTestServer(repo);
    try {
      const r = await call(s, 'POST', '/v2/repository/models/good-model/load', {});
      assert.equal(r.status, 400);
      assert.match(r.json.error, /^model 'good-model' failed signature verification: (SIGNATURE_INVALID|UNTRUSTED_SIGNER): /);
      assert.equal((await call(s, 'GET', '/v2/models/good-model/ready')).status, 404);
    } finally {
      await s.close();
    }
  });

  test('no policy entry matches: refused (fail closed)', async () => {
    const repo = await exampleRepo();
    writeFileSync(repo.policyPath, JSON.stringify({ entries: [{ models: 'fraud-*', publicKeys: ['keys/demo.pub'] }] }));
    let copied = 0;
    const s = await startTestServer(repo, { hooks: { onFileCopied: () => void copied++ } });
    try {
      const r = await call(s, 'POST', '/v2/repository/models/good-model/load', {});
      assert.equal(r.status, 400);
      assert.match(r.json.error, /^model 'good-model' failed signature verification: no trust policy entry matches/);
      assert.equal(copied, 0, 'nothing is copied for a model no policy entry covers');
    } finally {
      await s.close();
    }
  });

  test('sigstore policy entry refuses a key-signed model', async () => {
    const repo = await exampleRepo();
    writeFileSync(repo.policyPath, JSON.stringify({ entries: [{ models: '*', sigstore: [{ identity: 'ml@example.com', issuer: 'https://accounts.google.com' }] }] }));
    const s = await startTestServer(repo);
    try {
      const r = await call(s, 'POST', '/v2/repository/models/good-model/load', {});
      assert.equal(r.status, 400);
      assert.match(r.json.error, /^model 'good-model' failed signature verification: UNTRUSTED_SIGNER: /);
    } finally {
      await s.close();
    }
  });

  test('garbage signature file', async () => {
    const repo = await exampleRepo();
    writeFileSync(join(repo.modelsDir, 'good-model', 'model.sig'), '{"not": "a bundle"}');
    const s = await startTestServer(repo);
    try {
      const r = await call(s, 'POST', '/v2/repository/models/good-model/load', {});
      assert.equal(r.status, 400);
      assert.match(r.json.error, /^model 'good-model' failed signature verification: BAD_BUNDLE/);
    } finally {
      await s.close();
    }
  });

  test('an extra unsigned file and a missing file are named', async () => {
    const repo = await exampleRepo();
    writeFileSync(join(repo.modelsDir, 'custom-good', 'helper.js'), 'export {}\n');
    unlinkSync(join(repo.modelsDir, 'good-model', 'model.onnx'));
    const s = await startTestServer(repo);
    try {
      let r = await call(s, 'POST', '/v2/repository/models/custom-good/load', {});
      assert.equal(r.status, 400);
      assert.match(r.json.error, /extra: helper\.js/);
      r = await call(s, 'POST', '/v2/repository/models/good-model/load', {});
      assert.equal(r.status, 400);
      assert.match(r.json.error, /missing: model\.onnx/);
    } finally {
      await s.close();
    }
  });

  test('warn mode loads a failing model with a loud warning', async () => {
    const repo = await exampleRepo();
    writeFileSync(
      repo.policyPath,
      JSON.stringify({ entries: [{ models: 'tampered-*', mode: 'warn', publicKeys: ['keys/demo.pub'] }, { models: '*', publicKeys: ['keys/demo.pub'] }] }),
    );
    const s = await startTestServer(repo);
    try {
      const r = await call(s, 'POST', '/v2/repository/models/tampered-model/load', {});
      assert.equal(r.status, 200, r.text);
      assert.ok(s.logs.records.some((l) => l.level === 'warn' && /mode "warn"/.test(l.message)));
      assert.ok(s.logs.records.some((l) => l.level === 'warn' && /FAILED signature verification and is loaded anyway.*changed: model\.onnx/.test(l.message)));
      const idx = await call(s, 'POST', '/v2/repository/index', {});
      const t = idx.json.find((i: { name: string }) => i.name === 'tampered-model');
      assert.equal(t.state, 'READY');
      assert.match(t.reason, /loaded despite failed verification/);
      assert.equal((await call(s, 'GET', '/v2/models/tampered-model')).json.parameters['modelseal.verification'], 'warned');
    } finally {
      await s.close();
    }
  });

  test('certificate policy: a CA-signed model loads; any listed signer is accepted; others refused', async () => {
    const repo = await exampleRepo();
    const d = join(repo.modelsDir, 'ca-model');
    cpSync(join(repo.modelsDir, 'custom-good'), d, { recursive: true });
    unlinkSync(join(d, 'model.sig'));
    const pem = (f: string): string => readFileSync(join(MT_KEYS, f), 'utf8');
    await sign(d, {
      signer: certificateSigner({ privateKey: pem('signing-key.pem'), signingCertificate: pem('signing-key-cert.pem'), certificateChain: [pem('int-ca-cert.pem')] }),
      signaturePath: join(d, 'model.sig'),
    });
    writeFileSync(
      repo.policyPath,
      JSON.stringify({
        entries: [
          { models: 'ca-*', publicKeys: ['keys/demo.pub'], certificateAuthorities: [join(MT_KEYS, 'ca-cert.pem')] },
          { models: 'custom-*', publicKeys: ['keys/demo.pub'], certificateAuthorities: [join(MT_KEYS, 'ca-cert.pem')] },
          { models: '*', publicKeys: ['keys/demo.pub'] },
        ],
      }),
    );
    cpSync(d, join(repo.modelsDir, 'other-ca-model'), { recursive: true });
    const s = await startTestServer(repo);
    try {
      let r = await call(s, 'POST', '/v2/repository/models/ca-model/load', {});
      assert.equal(r.status, 200, r.text);
      r = await call(s, 'GET', '/v2/models/ca-model');
      assert.equal(r.json.parameters['modelseal.verification'], 'verified');
      assert.ok(r.json.parameters['modelseal.signer.subject']);
      assert.equal((await call(s, 'POST', '/v2/repository/models/custom-good/load', {})).status, 200, 'key-signed model under the same any-of entry');
      r = await call(s, 'POST', '/v2/repository/models/other-ca-model/load', {});
      assert.equal(r.status, 400);
      assert.match(r.json.error, /^model 'other-ca-model' failed signature verification: [A-Z_]+: /);
      r = await call(s, 'POST', '/v2/repository/models/custom-tampered/load', {});
      assert.match(r.json.error, /changed: models\.js/, 'a trusted signer with different content names the files');
    } finally {
      await s.close();
    }
  });

  test('two folders claiming the same model name and version are refused', async () => {
    const repo = await exampleRepo();
    const d = join(repo.modelsDir, 'impostor');
    cpSync(join(repo.modelsDir, 'custom-good'), d, { recursive: true });
    writeFileSync(join(d, 'model-settings.json'), JSON.stringify({ ...CUSTOM_SETTINGS, name: 'custom-good' }));
    const s = await startTestServer(repo);
    try {
      const r = await call(s, 'POST', '/v2/repository/models/custom-good/load', {});
      assert.equal(r.status, 400);
      assert.match(r.json.error, /defined twice \(custom-good and impostor\)/);
    } finally {
      await s.close();
    }
  });

  test('inference keeps answering during reloads and concurrent loads of one model; old snapshots are removed', async () => {
    const repo = await exampleRepo();
    const snaps = join(repo.dir, 'snapshots');
    mkdirSync(snaps);
    const s = await startTestServer(repo, { settings: { model_repository_root: repo.modelsDir, policy: repo.policyPath, load_models_at_startup: false, snapshot_dir: snaps } });
    try {
      assert.equal((await call(s, 'POST', '/v2/repository/models/good-model/load', {})).status, 200);
      const infers = Array.from({ length: 30 }, () => call(s, 'POST', '/v2/models/good-model/infer', digitsRequest(repo.samples.rows.slice(0, 2))));
      const loads = Array.from({ length: 4 }, () => call(s, 'POST', '/v2/repository/models/good-model/load', {}));
      const results = await Promise.all([...infers, ...loads]);
      assert.deepEqual([...new Set(results.map((r) => r.status))], [200]);
      assert.equal(s.repository.versionsOf('good-model').length, 1);
      const { readdirSync } = await import('node:fs');
      assert.deepEqual(readdirSync(snaps).map((n) => join(snaps, n)), [s.repository.get('good-model').snapshotDir]);
      assert.equal((await call(s, 'POST', '/v2/repository/models/tampered-model/load', {})).status, 400);
      assert.equal(readdirSync(snaps).length, 1, 'a refused snapshot is deleted');
    } finally {
      await s.close();
    }
  });

  test('a symlink in the model folder is refused', async () => {
    const repo = await exampleRepo();
    const { symlinkSync } = await import('node:fs');
    symlinkSync('/etc/hostname', join(repo.modelsDir, 'custom-good', 'link'));
    const s = await startTestServer(repo);
    try {
      const r = await call(s, 'POST', '/v2/repository/models/custom-good/load', {});
      assert.equal(r.status, 400);
      assert.match(r.json.error, /failed signature verification: cannot snapshot the model folder: .*symlink/);
    } finally {
      await s.close();
    }
  });

  test('a failed reload keeps the previous version serving', async () => {
    const repo = await exampleRepo();
    const s = await startTestServer(repo);
    try {
      assert.equal((await call(s, 'POST', '/v2/repository/models/good-model/load')).status, 200);
      const before = await call(s, 'POST', '/v2/models/good-model/infer', digitsRequest(repo.samples.rows));
      cpSync(join(repo.modelsDir, 'tampered-model', 'model.onnx'), join(repo.modelsDir, 'good-model', 'model.onnx'));
      const r = await call(s, 'POST', '/v2/repository/models/good-model/load');
      assert.equal(r.status, 400);
      assert.match(r.json.error, /changed: model\.onnx/);
      assert.equal((await call(s, 'GET', '/v2/models/good-model/ready')).status, 200);
      const again = await call(s, 'POST', '/v2/models/good-model/infer', digitsRequest(repo.samples.rows));
      assert.deepEqual(again.json, before.json);
      const idx = await call(s, 'POST', '/v2/repository/index', {});
      const g = idx.json.find((i: { name: string }) => i.name === 'good-model');
      assert.equal(g.state, 'READY');
      assert.match(g.reason, /reload failed, previous version still serving/);
    } finally {
      await s.close();
    }
  });
});

describe('server: endpoints', () => {
  test('health, metadata, ready, unload, unknown routes, versions', async () => {
    const repo = await exampleRepo();
    // Two versions of one model.
    for (const v of ['1', '2']) {
      const d = join(repo.modelsDir, 'versioned', v);
      mkdirSync(d, { recursive: true });
      cpSync(join(repo.modelsDir, 'custom-good', 'models.js'), join(d, 'models.js'));
      writeFileSync(join(d, 'model-settings.json'), JSON.stringify({ ...CUSTOM_SETTINGS, name: 'versioned', parameters: { version: v } }));
      await signFolder(d, readFileSync(repo.privateKeyPath, 'utf8'));
    }
    const s = await startTestServer(repo);
    try {
      assert.equal((await call(s, 'GET', '/v2/health/live')).status, 200);
      assert.equal((await call(s, 'GET', '/v2/health/ready')).status, 200);
      const meta = await call(s, 'GET', '/v2');
      assert.equal(meta.status, 200);
      assert.equal(meta.json.name, 'modelseal');
      assert.ok(meta.json.extensions.includes('model_repository'));
      let r = await call(s, 'GET', '/v2/models/good-model');
      assert.equal(r.status, 404);
      assert.deepEqual(r.json, { error: 'Model good-model not found' });
      assert.equal((await call(s, 'GET', '/v2/models/good-model/ready')).status, 404);
      assert.equal((await call(s, 'POST', '/v2/repository/models/nope/load', {})).status, 404);
      assert.equal((await call(s, 'POST', '/v2/repository/models/good-model/unload', {})).status, 404);

      assert.equal((await call(s, 'POST', '/v2/repository/models/good-model/load', '')).status, 200);
      r = await call(s, 'GET', '/v2/models/good-model');
      assert.equal(r.status, 200);
      assert.equal(r.json.platform, 'onnx_onnxv1');
      assert.deepEqual(r.json.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, 64] }]);
      assert.equal(r.json.parameters['modelseal.verification'], 'verified');
      assert.match(r.json.parameters['modelseal.signer.key_hint'], /^[0-9a-f]+$/);
      r = await call(s, 'GET', '/v2/models/good-model/ready');
      assert.deepEqual([r.status, r.json], [200, { name: 'good-model', ready: true }]);

      r = await call(s, 'POST', '/v2/repository/models/versioned/load', {});
      assert.equal(r.status, 200, r.text);
      r = await call(s, 'POST', '/v2/repository/index', {});
      assert.deepEqual(
        r.json.filter((i: { name: string }) => i.name === 'versioned').map((i: { version: string; state: string }) => [i.version, i.state]),
        [['1', 'READY'], ['2', 'READY']],
      );
      assert.deepEqual((await call(s, 'GET', '/v2/models/versioned')).json.versions.sort(), ['1', '2']);
      const body = { inputs: [{ name: 'x', datatype: 'FP64', shape: [1, 2], data: [1, 3] }] };
      r = await call(s, 'POST', '/v2/models/versioned/versions/1/infer', body);
      assert.equal(r.json.model_version, '1');
      r = await call(s, 'POST', '/v2/models/versioned/infer', body);
      assert.equal(r.json.model_version, '2', 'default = newest');
      assert.equal((await call(s, 'GET', '/v2/models/versioned/versions/1/ready')).status, 200);
      assert.equal((await call(s, 'GET', '/v2/models/versioned/versions/7/ready')).status, 404);
      assert.equal((await call(s, 'GET', '/v2/models/versioned/versions/2')).json.name, 'versioned');

      r = await call(s, 'POST', '/v2/repository/models/good-model/unload', {});
      assert.equal(r.status, 200);
      assert.equal((await call(s, 'GET', '/v2/models/good-model/ready')).status, 404);
      r = await call(s, 'GET', '/v2/nothing-here');
      assert.equal(r.status, 404);
      assert.ok(r.json.error);
      assert.equal((await call(s, 'GET', '/v2/repository/index')).status, 405);
    } finally {
      await s.close();
    }
  });

  test('malformed JSON and tensors are 400 with a reason; body limit is 413', async () => {
    const repo = await exampleRepo();
    const s = await startTestServer(repo, { settings: { ...JSON.parse(readFileSync(repo.settingsPath, 'utf8')), model_repository_root: repo.modelsDir, policy: repo.policyPath, max_request_body_bytes: 4096 } });
    try {
      assert.equal((await call(s, 'POST', '/v2/repository/models/good-model/load', {})).status, 200);
      const bad = async (body: unknown, re: RegExp): Promise<void> => {
        const r = await call(s, 'POST', '/v2/models/good-model/infer', body);
        assert.equal(r.status, 400, `${JSON.stringify(body)} -> ${r.status} ${r.text}`);
        assert.match(r.json.error, re);
      };
      await bad('{"inputs": [', /malformed JSON/);
      await bad('', /empty/);
      await bad([], /must be a JSON object/);
      await bad({}, /'inputs' must be a non-empty list/);
      await bad({ inputs: [{ name: 'input', datatype: 'FP99', shape: [1, 64], data: [] }] }, /unknown datatype/);
      await bad({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: [1, 2] }] }, /needs 64 elements, data has 2/);
      await bad({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, -64], data: [] }] }, /non-negative integers/);
      await bad({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 2], data: ['a', 'b'] }] }, /is not a number/);
      await bad({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 1], data: [{}] }] }, /must be numbers/);
      await bad({ inputs: [{ name: 'input', datatype: 'INT64', shape: [1, 64], data: Array(64).fill(1) }] }, /expects FP32, got INT64/);
      await bad({ inputs: [{ name: 'wrong', datatype: 'FP32', shape: [1, 1], data: [1] }] }, /unknown input 'wrong'/);
      await bad({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] }, /inference failed/);
      await bad(digitsRequest([Array(64).fill(0)], { outputs: [{ name: 'nope' }] }), /unknown output 'nope'/);
      await bad({ inputs: [{ name: 'input', datatype: 'UINT8', shape: [1], data: [300] }] }, /out of range/);
      const big = await call(s, 'POST', '/v2/models/good-model/infer', digitsRequest(Array(20).fill(Array(64).fill(16.0001))));
      assert.equal(big.status, 413);
      assert.match(big.json.error, /larger than 4096 bytes/);
      const r = await call(s, 'POST', '/v2/models/good-model/infer', digitsRequest([Array(64).fill(0)], { outputs: [{ name: 'label' }] }));
      assert.equal(r.status, 200, 'still serving');
      assert.deepEqual(r.json.outputs.map((o: { name: string }) => o.name), ['label']);
      const { gzipSync } = await import('node:zlib');
      const gz = await call(s, 'POST', '/v2/models/good-model/infer', gzipSync(JSON.stringify(digitsRequest([Array(64).fill(0)]))), { 'content-encoding': 'gzip' });
      assert.equal(gz.status, 200, gz.text);
      const bomb = await call(s, 'POST', '/v2/models/good-model/infer', gzipSync(Buffer.alloc(1 << 20, 32)), { 'content-encoding': 'gzip' });
      assert.equal(bomb.status, 413, 'decompressed size is limited too');
      assert.equal((await call(s, 'POST', '/v2/models/good-model/infer', 'not gzip', { 'content-encoding': 'gzip' })).status, 400);
      assert.equal((await call(s, 'POST', '/v2/models/good-model/infer', '{}', { 'content-encoding': 'br' })).status, 415);
      assert.equal((await call(s, 'POST', '/v2/repository/index', '[1]')).status, 400);
      assert.equal((await call(s, 'POST', '/v2/repository/index', { ready: 'yes' })).status, 400);
    } finally {
      await s.close();
    }
  });

  test('garbage never crashes the server: every answer is a 4xx with {error}', async () => {
    const repo = await exampleRepo();
    const s = await startTestServer(repo);
    try {
      await call(s, 'POST', '/v2/repository/models/good-model/load', {});
      await call(s, 'POST', '/v2/repository/models/custom-good/load', {});
      let deep: unknown = [1];
      for (let i = 0; i < 200; i++) deep = [deep];
      const row = Array(64).fill(1);
      const payloads: unknown[] = [
        'null', '1', '"str"', 'true', '{"inputs": null}', '{"inputs": [null]}', '{"inputs": [1]}',
        { inputs: [{ name: 'input', datatype: 'FP32', shape: '1', data: [] }] },
        { inputs: [{ name: 'input', datatype: 'FP32', shape: [1e20], data: [] }] },
        { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: row, parameters: 5 }] },
        { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: row }], outputs: 'x' },
        { inputs: [{ name: 'input', datatype: 'FP32', shape: [1], data: deep }] },
        { inputs: [{ name: 7, datatype: 'FP32', shape: [1], data: [1] }] },
        { inputs: [{ name: 'input', datatype: 'BYTES', shape: [1, 64], data: row }] },
        { id: 5, inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: row }] },
        '{"__proto__": {"inputs": 1}}',
        Buffer.from([0xff, 0xfe, 0x00, 0x7b]),
      ];
      for (const model of ['good-model', 'custom-good']) {
        for (const p of payloads) {
          const r = await call(s, 'POST', `/v2/models/${model}/infer`, p);
          assert.ok(r.status >= 400 && r.status < 500, `${model} ${String(p).slice(0, 40)} -> ${r.status} ${r.text}`);
          assert.equal(typeof r.json?.error, 'string');
        }
      }
      const fp16 = await call(s, 'POST', '/v2/models/good-model/infer', { inputs: [{ name: 'input', datatype: 'FP16', shape: [1, 64], data: row }] });
      assert.equal(fp16.status, 400);
      assert.match(fp16.json.error, /FP16 is not supported by the ONNX runtime over JSON/);
      for (const p of ['[', 'null', '"x"', '{"ready": 1}']) {
        assert.equal((await call(s, 'POST', '/v2/repository/index', p)).status, 400);
        if (p !== '{"ready": 1}') assert.equal((await call(s, 'POST', '/v2/repository/models/good-model/load', p)).status, 400);
      }
      assert.equal((await call(s, 'GET', '/v2/models/%ZZ')).status, 400);
      assert.equal((await call(s, 'GET', '/v2/health/live')).status, 200);
      assert.equal((await call(s, 'GET', '/v2/models/good-model/ready')).status, 200);
    } finally {
      await s.close();
    }
  });

  test('binary tensor data extension: raw inputs and outputs', async () => {
    const repo = await exampleRepo();
    const s = await startTestServer(repo);
    try {
      assert.equal((await call(s, 'POST', '/v2/repository/models/good-model/load', {})).status, 200);
      assert.ok((await call(s, 'GET', '/v2')).json.extensions.includes('binary_tensor_data'));
      const rows = repo.samples.rows;
      const expected = (await call(s, 'POST', '/v2/models/good-model/infer', digitsRequest(rows))).json;
      const raw = Buffer.alloc(rows.length * 64 * 4);
      rows.flat().forEach((v, i) => raw.writeFloatLE(v, i * 4));
      const header = Buffer.from(
        JSON.stringify({
          inputs: [{ name: 'input', datatype: 'FP32', shape: [rows.length, 64], parameters: { binary_data_size: raw.length } }],
          outputs: [{ name: 'label', parameters: { binary_data: true } }, { name: 'probabilities' }],
        }),
      );
      const res = await fetch(s.url + '/v2/models/good-model/infer', {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
        body: Buffer.concat([header, raw]),
      });
      assert.equal(res.status, 200);
      const body = Buffer.from(await res.arrayBuffer());
      const n = Number(res.headers.get('inference-header-content-length'));
      const json = JSON.parse(body.subarray(0, n).toString());
      const label = json.outputs.find((o: { name: string }) => o.name === 'label');
      assert.equal(label.data, undefined);
      assert.equal(label.parameters.binary_data_size, rows.length * 8);
      const labels = Array.from({ length: rows.length }, (_, i) => Number(body.readBigInt64LE(n + i * 8)));
      assert.deepEqual(labels, expected.outputs.find((o: { name: string }) => o.name === 'label').data);
      assert.deepEqual(json.outputs.find((o: { name: string }) => o.name === 'probabilities').data, expected.outputs.find((o: { name: string }) => o.name === 'probabilities').data);
      const bad = await fetch(s.url + '/v2/models/good-model/infer', {
        method: 'POST',
        headers: { 'inference-header-content-length': String(header.length) },
        body: Buffer.concat([header, raw.subarray(4)]),
      });
      assert.equal(bad.status, 400);
      assert.match(((await bad.json()) as { error: string }).error, /runs past the end|raw contents have/);
    } finally {
      await s.close();
    }
  });

  test('ONNX datatypes both ways: BOOL, INT64, FP64, INT32, UINT8, BYTES', async () => {
    const repo = await exampleRepo();
    const types: Array<[string, number, unknown[]]> = [
      ['BOOL', 9, [true, false, true]],
      ['INT64', 7, [-5, 0, 9007199254740991]],
      ['FP64', 11, [0.5, -1.25, 3]],
      ['INT32', 6, [-7, 8, 2147483647]],
      ['UINT8', 2, [0, 17, 255]],
      ['BYTES', 8, ['a', 'héllo', '']],
      ['FP32', 1, [1.5, 2, -3]],
    ];
    const onnx = encodeModel({
      irVersion: 8,
      opset: 13,
      producerName: 'test',
      graphName: 'identity',
      inputs: types.map(([t, e]) => ({ name: `in_${t}`, elemType: e, shape: [3] })),
      outputs: types.map(([t, e]) => ({ name: `out_${t}`, elemType: e, shape: [3] })),
      initializers: [],
      nodes: types.map(([t]) => ({ name: `id_${t}`, opType: 'Identity', inputs: [`in_${t}`], outputs: [`out_${t}`] })),
    });
    const d = join(repo.modelsDir, 'identity');
    mkdirSync(d);
    writeFileSync(join(d, 'model.onnx'), onnx);
    writeFileSync(join(d, 'model-settings.json'), JSON.stringify({ implementation: 'onnx' }));
    await signFolder(d, readFileSync(repo.privateKeyPath, 'utf8'));
    const s = await startTestServer(repo);
    try {
      assert.equal((await call(s, 'POST', '/v2/repository/models/identity/load', {})).status, 200);
      const meta = await call(s, 'GET', '/v2/models/identity');
      assert.deepEqual(meta.json.inputs.map((i: { datatype: string }) => i.datatype), types.map(([t]) => t));
      const r = await call(s, 'POST', '/v2/models/identity/infer', { inputs: types.map(([t, , data]) => ({ name: `in_${t}`, datatype: t, shape: [3], data })) });
      assert.equal(r.status, 200, r.text);
      for (const [t, , data] of types) {
        const o = r.json.outputs.find((x: { name: string }) => x.name === `out_${t}`);
        assert.deepEqual([o.datatype, o.shape, o.data], [t, [3], data], t);
      }
    } finally {
      await s.close();
    }
  });

  test('metrics: requests, latency, verification outcomes, load durations', async () => {
    const repo = await exampleRepo();
    const s = await startTestServer(repo);
    try {
      await call(s, 'POST', '/v2/repository/models/good-model/load', {});
      await call(s, 'POST', '/v2/repository/models/tampered-model/load', {});
      await call(s, 'POST', '/v2/repository/models/naive-model/load', {});
      await call(s, 'POST', '/v2/models/good-model/infer', digitsRequest(repo.samples.rows));
      await call(s, 'POST', '/v2/models/good-model/infer', { inputs: [] });
      const r = await call(s, 'GET', '/metrics');
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /text\/plain/);
      assert.match(r.text, /model_infer_request_success_total\{model="good-model",version=""\} 1/);
      assert.match(r.text, /model_infer_request_duration_count\{model="good-model",version=""\} 1/);
      assert.match(r.text, /modelseal_model_verifications_total\{model="good-model",result="verified"\} 1/);
      assert.match(r.text, /modelseal_model_verifications_total\{model="tampered-model",result="refused"\} 1/);
      assert.match(r.text, /modelseal_model_verifications_total\{model="naive-model",result="skipped"\} 1/);
      assert.match(r.text, /modelseal_model_load_duration_seconds_count\{model="tampered-model",outcome="refused"\} 1/);
      assert.match(r.text, /rest_server_requests_total\{method="POST",path="\/v2\/models\/\{m\}\/infer",status_code="400"\} 1/);
    } finally {
      await s.close();
    }
  });
});

describe('server: startup and security', () => {
  test('load_models_at_startup: failing models are UNAVAILABLE, others serve; exit setting refuses to start', async () => {
    const repo = await exampleRepo();
    rmSync(join(repo.modelsDir, 'naive-model'), { recursive: true });
    const settings = { model_repository_root: repo.modelsDir, policy: repo.policyPath, load_models_at_startup: true };
    const s = await startTestServer(repo, { settings });
    try {
      assert.deepEqual(s.startupFailures.map((f) => f.name).sort(), ['custom-tampered', 'tampered-model']);
      const idx = await call(s, 'POST', '/v2/repository/index', {});
      assert.deepEqual(
        idx.json.map((i: { name: string; state: string }) => `${i.name}:${i.state}`),
        ['custom-good:READY', 'custom-tampered:UNAVAILABLE', 'good-model:READY', 'tampered-model:UNAVAILABLE'],
      );
      assert.equal(existsSync(repo.markerPath), false);
      assert.equal((await call(s, 'GET', '/v2/health/ready')).status, 200);
    } finally {
      await s.close();
    }
    await assert.rejects(
      startServer({ settings: { ...settings, exit_on_startup_load_failure: true }, httpPort: 0, grpcPort: null, env: {}, logger: silentLogger }),
      /models failed to load at startup: model 'custom-tampered' failed signature verification/,
    );
  });

  test('beyond loopback without a token: refuses to start; with a token, repository endpoints need it', async () => {
    const repo = await exampleRepo();
    await assert.rejects(startTestServer(repo, { host: '0.0.0.0' }), /refusing to listen on '0\.0\.0\.0' \(beyond loopback\) without a token/);
    await assert.rejects(startTestServer(repo, { host: '192.168.1.10' }), /beyond loopback/);
    const s = await startTestServer(repo, { env: { MODELSEAL_AUTH_TOKEN: 's3cret' } });
    try {
      let r = await call(s, 'POST', '/v2/repository/index', {});
      assert.equal(r.status, 401);
      assert.match(r.json.error, /Bearer/);
      assert.equal((await call(s, 'POST', '/v2/repository/models/good-model/load', {}, { authorization: 'Bearer wrong' })).status, 401);
      r = await call(s, 'POST', '/v2/repository/models/good-model/load', {}, { authorization: 'Bearer s3cret' });
      assert.equal(r.status, 200);
      assert.equal((await call(s, 'POST', '/v2/repository/index', {}, { authorization: 'Bearer s3cret' })).status, 200);
      assert.equal((await call(s, 'GET', '/v2/models/good-model/ready')).status, 200, 'data plane needs no token');
    } finally {
      await s.close();
    }
  });

  test('no policy: refuses to start', async () => {
    const repo = await exampleRepo();
    await assert.rejects(
      startServer({ settings: { model_repository_root: repo.modelsDir }, httpPort: 0, grpcPort: null, env: {}, logger: silentLogger }),
      /no trust policy given/,
    );
  });

  test('an unusable key file in the policy refuses to start (even for a warn entry)', async () => {
    const repo = await exampleRepo();
    const dir = mkdtempSync(join(tmpdir(), 'bad-policy-'));
    writeFileSync(join(dir, 'bad.pub'), 'not a PEM key');
    writeFileSync(join(dir, 'policy.json'), JSON.stringify({ entries: [{ models: '*', mode: 'warn', publicKeys: ['bad.pub'] }] }));
    await assert.rejects(
      startServer({ settings: { model_repository_root: repo.modelsDir, policy: join(dir, 'policy.json') }, httpPort: 0, grpcPort: null, env: {}, logger: silentLogger }),
      (e: { code?: string; message?: string }) => {
        assert.equal(e.code, 'BAD_INPUT');
        return true;
      },
    );
    rmSync(dir, { recursive: true, force: true });
  });

  test('close() stops serving and deletes snapshots', async () => {
    const repo = await exampleRepo();
    const s = await startTestServer(repo);
    await call(s, 'POST', '/v2/repository/models/good-model/load', {});
    const snap = s.repository.get('good-model').snapshotDir;
    assert.ok(existsSync(snap));
    await s.close();
    assert.equal(existsSync(snap), false);
    await assert.rejects(fetch(s.url + '/v2/health/live'));
  });
});
