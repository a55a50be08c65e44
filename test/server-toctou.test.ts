/** "What is run is what was verified": swaps at the worst moments, and the snapshot itself. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { tamperedModelsJs } from '../examples/build-repository.js';
import { encodeModel } from '../examples/digits/onnx.js';
import { createSnapshot, removeSnapshot } from '../src/server/snapshot.js';
import { call, cleanupAll, digitsRequest, exampleRepo, startTestServer } from './helpers/server.js';

after(cleanupAll);

describe('server: time of check vs time of use', () => {
  test('code swapped into the original right after verification is never imported', async () => {
    const repo = await exampleRepo();
    const original = join(repo.modelsDir, 'custom-good', 'models.js');
    let swapped = false;
    let stateDuringLoad = '';
    const s: Awaited<ReturnType<typeof startTestServer>> = await startTestServer(repo, {
      hooks: {
        afterVerify: ({ model, snapshot }) => {
          if (model !== 'custom-good') return;
          stateDuringLoad = s.repository.index().find((i) => i.name === 'custom-good')!.state;
          writeFileSync(original, tamperedModelsJs(repo.markerPath));
          swapped = true;
          assert.notEqual(readFileSync(join(snapshot, 'models.js'), 'utf8'), readFileSync(original, 'utf8'));
        },
      },
    });
    try {
      const r = await call(s, 'POST', '/v2/repository/models/custom-good/load', {});
      assert.equal(r.status, 200, r.text);
      assert.ok(swapped);
      assert.equal(stateDuringLoad, 'LOADING');
      const inf = await call(s, 'POST', '/v2/models/custom-good/infer', { inputs: [{ name: 'x', datatype: 'FP64', shape: [1, 2], data: [1, 3] }] });
      assert.equal(inf.status, 200);
      assert.equal(existsSync(repo.markerPath), false, 'the swapped-in code ran');
    } finally {
      await s.close();
    }
  });

  test('model-settings.json changed between discovery and load is refused, even with verification off', async () => {
    const repo = await exampleRepo();
    const s = await startTestServer(repo, {
      hooks: {
        // naive-model's policy entry turns verification off, so only the name/version re-check stands
        // between a settings file swapped after discovery and its (planted) code.
        onFileCopied: ({ model, file, snapshot }) => {
          if (model === 'naive-model' && file === 'model-settings.json') {
            const p = join(snapshot, 'model-settings.json');
            writeFileSync(p, JSON.stringify({ ...JSON.parse(readFileSync(p, 'utf8')), name: 'someone-else' }));
          }
        },
      },
    });
    try {
      const r = await call(s, 'POST', '/v2/repository/models/naive-model/load', {});
      assert.equal(r.status, 400, r.text);
      assert.match(r.json.error, /naive-model.*changed while loading/);
      assert.equal(existsSync(repo.markerPath), false, 'the planted code ran');
    } finally {
      await s.close();
    }
  });

  test('weights swapped into the original right after verification are never served', async () => {
    const repo = await exampleRepo();
    // Reference outputs from the verified model.
    const ref = await startTestServer(repo);
    await call(ref, 'POST', '/v2/repository/models/good-model/load', {});
    const expected = (await call(ref, 'POST', '/v2/models/good-model/infer', digitsRequest(repo.samples.rows))).json;
    await ref.close();

    const evil = encodeModel({
      irVersion: 8,
      opset: 13,
      producerName: 'evil',
      graphName: 'evil',
      inputs: [{ name: 'input', elemType: 1, shape: ['N', 64] }],
      outputs: [{ name: 'label', elemType: 7, shape: ['N'] }, { name: 'probabilities', elemType: 1, shape: ['N', 64] }],
      initializers: [],
      nodes: [
        { name: 'id', opType: 'Identity', inputs: ['input'], outputs: ['probabilities'] },
        { name: 'am', opType: 'ArgMin', inputs: ['input'], outputs: ['label'], ints: { axis: 1, keepdims: 0 } },
      ],
    });
    const s = await startTestServer(repo, {
      hooks: {
        afterVerify: ({ original }) => writeFileSync(join(original, 'model.onnx'), evil),
      },
    });
    try {
      assert.equal((await call(s, 'POST', '/v2/repository/models/good-model/load', {})).status, 200);
      assert.deepEqual(readFileSync(join(repo.modelsDir, 'good-model', 'model.onnx')), evil, 'the original was swapped');
      const got = (await call(s, 'POST', '/v2/models/good-model/infer', digitsRequest(repo.samples.rows))).json;
      assert.deepEqual(got, expected, 'served outputs are the verified model\'s');
    } finally {
      await s.close();
    }
  });

  test('the ONNX bytes handed to the runtime are re-hashed: a snapshot altered after verification is refused', async () => {
    const repo = await exampleRepo();
    const s = await startTestServer(repo, {
      hooks: {
        afterVerify: ({ snapshot }) => {
          const f = join(snapshot, 'model.onnx');
          const b = readFileSync(f);
          b[100] = b[100]! ^ 0xff;
          writeFileSync(f, b);
        },
      },
    });
    try {
      const r = await call(s, 'POST', '/v2/repository/models/good-model/load', {});
      assert.equal(r.status, 400);
      assert.match(r.json.error, /^model 'good-model' failed signature verification: 'model\.onnx' changed after verification/);
      assert.equal((await call(s, 'GET', '/v2/models/good-model/ready')).status, 404);
    } finally {
      await s.close();
    }
  });

  test('tampering during the copy is caught: the snapshot holds the tampered bytes and fails verification', async () => {
    const repo = await exampleRepo();
    const original = join(repo.modelsDir, 'custom-good', 'models.js');
    const copied: string[] = [];
    const s = await startTestServer(repo, {
      hooks: {
        onFileCopied: ({ model, file }) => {
          if (model !== 'custom-good') return;
          copied.push(file);
          // models.js sorts last: swap it after the first file is copied, before it is.
          if (copied.length === 1) writeFileSync(original, tamperedModelsJs(repo.markerPath));
        },
      },
    });
    try {
      const r = await call(s, 'POST', '/v2/repository/models/custom-good/load', {});
      assert.equal(r.status, 400);
      assert.match(r.json.error, /^model 'custom-good' failed signature verification: .*changed: models\.js/);
      assert.deepEqual(copied, ['model-settings.json', 'model.sig', 'models.js']);
      assert.equal(existsSync(repo.markerPath), false);
    } finally {
      await s.close();
    }
  });

  test('a file swapped back after verification of a tampered copy changes nothing: refused stays refused', async () => {
    const repo = await exampleRepo();
    const good = readFileSync(join(repo.modelsDir, 'custom-good', 'models.js'));
    const s = await startTestServer(repo, {
      hooks: {
        onFileCopied: ({ model, file, original }) => {
          // After the tampered models.js is in the snapshot, put the good one back in the original.
          if (model === 'custom-tampered' && file === 'models.js') writeFileSync(join(original, 'models.js'), good);
        },
      },
    });
    try {
      const r = await call(s, 'POST', '/v2/repository/models/custom-tampered/load', {});
      assert.equal(r.status, 400);
      assert.equal(existsSync(repo.markerPath), false);
    } finally {
      await s.close();
    }
  });
});

describe('server: snapshots', () => {
  test('private (0700), exact copy, symlinks and special files refused, git metadata skipped', async () => {
    const src = mkdtempSync(join(tmpdir(), 'modelseal-snapsrc-'));
    mkdirSync(join(src, 'sub'));
    writeFileSync(join(src, 'a.bin'), Buffer.from([1, 2, 3]));
    writeFileSync(join(src, 'sub', 'b.txt'), 'b');
    mkdirSync(join(src, '.git'));
    writeFileSync(join(src, '.git', 'HEAD'), 'x');
    const snap = await createSnapshot(src);
    assert.equal(statSync(snap.dir).mode & 0o777, 0o700);
    assert.deepEqual(snap.files, ['a.bin', 'sub/b.txt']);
    assert.deepEqual(readFileSync(join(snap.dir, 'a.bin')), Buffer.from([1, 2, 3]));
    assert.equal(existsSync(join(snap.dir, '.git')), false);
    await removeSnapshot(snap.dir);
    symlinkSync(join(src, 'a.bin'), join(src, 'sub', 'link'));
    await assert.rejects(createSnapshot(src), /sub\/link.*symlinks are not served/);
    const src2 = mkdtempSync(join(tmpdir(), 'modelseal-snapsrc-'));
    copyFileSync(join(src, 'a.bin'), join(src2, 'a.bin'));
    const { execFileSync } = await import('node:child_process');
    execFileSync('mkfifo', [join(src2, 'fifo')]);
    await assert.rejects(createSnapshot(src2), /fifo.*not a regular file/);
    const { rmSync } = await import('node:fs');
    rmSync(src, { recursive: true });
    rmSync(src2, { recursive: true });
  });
});
