/**
 * The hashing engine: digests checked against independent tools (openssl, b3sum when installed, the
 * spec's worked values), every threading mode, progress, abort and I/O failures. Small files only, and
 * sparse files where a test needs the multi-thread path (> 128 MiB), so the suite stays fast.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { blake3Backend, createHasher } from '../src/hashing/algorithms.js';
import { hashJobs, MIN_PARALLEL_BYTES, planThreads } from '../src/hashing/engine.js';
import { CHUNK_SIZE } from '../src/hashing/loop.js';
import type { HashJob } from '../src/hashing/types.js';
import { ModelSealError } from '../src/errors.js';

const ENGINE_URL = new URL('../src/hashing/engine.js', import.meta.url).href;
const ALGOS = ['sha256', 'blake2b', 'blake3'] as const;
const OPENSSL_NAME = { sha256: 'sha256', blake2b: 'blake2b512' } as const;

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'modelseal-hashing-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, data: Buffer | string): string {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
}
function whole(path: string): HashJob {
  return { path, start: 0, end: readFileSync(path).length };
}
/** `openssl dgst` over stdin: an implementation independent of ours. */
function openssl(algo: 'sha256' | 'blake2b', data: Buffer): string {
  const r = spawnSync('openssl', ['dgst', `-${OPENSSL_NAME[algo]}`, '-r'], { input: data });
  assert.equal(r.status, 0, r.stderr?.toString());
  return r.stdout.toString().split(' ')[0]!;
}
function b3sum(data: Buffer): string | undefined {
  const r = spawnSync('b3sum', ['--no-names'], { input: data });
  return r.status === 0 ? r.stdout.toString().trim() : undefined;
}
/** A sparse file of `size` zero bytes: big enough to start workers, costs no disk. */
function sparse(name: string, size: number): string {
  const p = join(dir, name);
  closeSync(openSync(p, 'w'));
  truncateSync(p, size);
  return p;
}
function zeroDigest(algo: 'sha256' | 'blake2b', size: number): string {
  const h = createHash(algo === 'sha256' ? 'sha256' : 'blake2b512');
  const z = Buffer.alloc(CHUNK_SIZE);
  for (let left = size; left > 0; left -= z.length) h.update(left >= z.length ? z : z.subarray(0, left));
  return h.digest('hex');
}

describe('spec §13 worked digests', () => {
  const expected = {
    sha256: [
      '09d343c37de0bba143b7ff45f82c0ab9308531dcc78b56b8eb40c5938c4be418',
      '6bc14bdc4517a7a682c6910de2e2946eb8e1ecd04090728fef6d092a7ceb62c5',
    ],
    blake2b: [
      '9f201cd0d323c605d83df1dce6ac6504cbae5ed8985ab7632842e8cdcf5cd28c2d18fb275408b654dc89b71aff8dd18510da15b92dbb9277ddc6326c7851bb5d',
      '261b876c506a27b2ebc4a45e01dc9337dbbc666fe8a623d7d91c53b1293147a6119814704ef9e3d3cc83fffa1285873625b8a4a0373f4dee9a6a7a13557122d7',
    ],
    blake3: [
      'b409f3a18cadfc296dc1e0bc1af8cfc28be056f869f1affb710357a9740f2c07',
      '3e27af6e1fd3054e9aa642e0db5f479c3ac0ef08f942680890a2d3b004c2e473',
    ],
  };
  for (const algo of ALGOS) {
    it(`files, ${algo}`, async () => {
      const c = file('config.json', '{"layers": 2}\n');
      const w = file('weights.bin', '0123456789abcdefghij');
      assert.deepEqual(await hashJobs([whole(c), whole(w)], { algorithm: algo }), expected[algo]);
    });
  }
  it('shards of 8 bytes (§13.2), in the order given', async () => {
    const c = file('config.json', '{"layers": 2}\n');
    const w = file('weights.bin', '0123456789abcdefghij');
    const jobs = [
      { path: c, start: 0, end: 8 },
      { path: c, start: 8, end: 14 },
      { path: w, start: 0, end: 8 },
      { path: w, start: 8, end: 16 },
      { path: w, start: 16, end: 20 },
    ];
    assert.deepEqual(await hashJobs(jobs, { algorithm: 'sha256' }), [
      '91d2e0ddb6ddb90ce4685b8874bdcb32f19e6ef0ad8f2cb67f7588205a37a545',
      '29488598062ad9549801787c0f7981177d72b26ad4d11ea2de1e53a4dc1b9aeb',
      '924592b9b103f14f833faafb67f480691f01988aa457c0061769f58cd47311bc',
      'eaedf3a49c391c0207a1e7e4ae976941b384bf6137ffa5573d3522c1297806d4',
      '975ca72b6bdf0e938bcc214727c939f7fc64109ee8f14add455a2364e8d1451f',
    ]);
  });
});

describe('digests match independent tools', () => {
  // Sizes around the 1 MiB read buffer: empty, tiny, one short, exact, one over, several buffers.
  const sizes = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 12345];
  const data = sizes.map((s) => randomBytes(s));
  for (const algo of ['sha256', 'blake2b'] as const) {
    for (const useMainThread of [true, false]) {
      it(`${algo} whole files vs openssl (useMainThread=${useMainThread})`, async () => {
        const jobs = data.map((d, i) => whole(file(`f${i}.bin`, d)));
        const got = await hashJobs(jobs, { algorithm: algo, useMainThread });
        assert.deepEqual(got, data.map((d) => openssl(algo, d)));
      });
    }
  }
  it('blake3 whole files vs b3sum (when installed) and vs the wasm fallback', async () => {
    const jobs = data.map((d, i) => whole(file(`g${i}.bin`, d)));
    const got = await hashJobs(jobs, { algorithm: 'blake3' });
    const ref = data.map(b3sum);
    if (ref.every((r) => r !== undefined)) assert.deepEqual(got, ref);
    // The other backend, in a child process (the backend is chosen once per process).
    const script = `const { hashJobs } = await import(${JSON.stringify(ENGINE_URL)});
      const { blake3Backend } = await import(${JSON.stringify(new URL('../src/hashing/algorithms.js', import.meta.url).href)});
      const r = await hashJobs(${JSON.stringify(jobs)}, { algorithm: 'blake3', useMainThread: false });
      console.log(JSON.stringify({ backend: blake3Backend(), r }));`;
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, MODELSEAL_BLAKE3: 'wasm' },
      encoding: 'utf8',
    });
    assert.equal(out.status, 0, out.stderr);
    const parsed = JSON.parse(out.stdout) as { backend: string; r: string[] };
    assert.equal(parsed.backend, 'wasm');
    assert.deepEqual(parsed.r, got);
  });
  it('blake3 backend is native where @napi-rs/blake-hash is installed', () => {
    assert.ok(['native', 'wasm'].includes(blake3Backend()));
  });
  it('createHasher streams: split updates equal one update', async () => {
    const d = randomBytes(5000);
    for (const algo of ALGOS) {
      const a = await createHasher(algo);
      a.update(d);
      const b = await createHasher(algo);
      b.update(d.subarray(0, 1234));
      b.update(d.subarray(1234));
      assert.equal(a.digest(), b.digest());
    }
    const h = await createHasher('sha256');
    h.update(d);
    assert.equal(h.digest(), openssl('sha256', d));
  });
  it('shards across buffer boundaries', async () => {
    const d = randomBytes(3 * CHUNK_SIZE + 777);
    const p = file('shardy.bin', d);
    const cuts = [0, 5, CHUNK_SIZE - 3, CHUNK_SIZE + 7, 2 * CHUNK_SIZE + 1, 2 * CHUNK_SIZE + 1, d.length];
    const jobs = cuts.slice(1).map((end, i) => ({ path: p, start: cuts[i]!, end }));
    for (const useMainThread of [true, false]) {
      const got = await hashJobs(jobs, { algorithm: 'sha256', useMainThread });
      assert.deepEqual(got, jobs.map((j) => openssl('sha256', d.subarray(j.start, j.end))));
    }
  });
});

describe('scheduling', () => {
  it('many small files: order preserved, all modes agree', async () => {
    mkdirSync(join(dir, 'many'), { recursive: true });
    const datas = Array.from({ length: 300 }, (_, i) => randomBytes((i * 7919) % 70000));
    const jobs = datas.map((d, i) => whole(file(`many/${i}.bin`, d)));
    const expected = datas.map((d) => createHash('sha256').update(d).digest('hex'));
    assert.equal(expected[17], openssl('sha256', datas[17]!));
    for (const opts of [{}, { maxWorkers: 1 }, { useMainThread: false }, { useMainThread: false, maxWorkers: 2 }]) {
      assert.deepEqual(await hashJobs(jobs, { algorithm: 'sha256', ...opts }), expected, JSON.stringify(opts));
    }
  });
  it('above the parallel threshold: main thread + workers, maxWorkers=1 and default agree', async () => {
    const big = sparse('sparse-big.bin', MIN_PARALLEL_BYTES + 3 * CHUNK_SIZE + 5);
    const smalls = Array.from({ length: 20 }, (_, i) => file(`s${i}.bin`, randomBytes(i * 1000)));
    const half = Math.floor((MIN_PARALLEL_BYTES + 3 * CHUNK_SIZE + 5) / 2);
    const jobs: HashJob[] = [
      ...smalls.map(whole),
      { path: big, start: 0, end: half },
      { path: big, start: half, end: MIN_PARALLEL_BYTES + 3 * CHUNK_SIZE + 5 },
    ];
    const total = jobs.reduce((n, j) => n + j.end - j.start, 0);
    let progress = 0;
    const def = await hashJobs(jobs, { algorithm: 'sha256', onProgress: (b) => (progress += b) });
    assert.equal(progress, total);
    assert.deepEqual(await hashJobs(jobs, { algorithm: 'sha256', maxWorkers: 1 }), def);
    assert.equal(def[20], zeroDigest('sha256', half));
    assert.equal(def[0], openssl('sha256', Buffer.alloc(0)));
  });
  it('a big file hashed by the calling thread alone matches, with progress, and aborts', async () => {
    const d = randomBytes(17 * CHUNK_SIZE + 3);
    const p = file('big.bin', d);
    let sum = 0;
    const jobs = [whole(p), { path: p, start: 5, end: d.length - 1 }];
    for (const algo of ['sha256', 'blake2b'] as const) {
      sum = 0;
      const got = await hashJobs(jobs, { algorithm: algo, onProgress: (b) => (sum += b) });
      assert.deepEqual(got, [openssl(algo, d), openssl(algo, d.subarray(5, d.length - 1))]);
      assert.equal(sum, 2 * d.length - 6);
    }
    const ac = new AbortController();
    await assert.rejects(
      hashJobs(jobs, { algorithm: 'sha256', signal: ac.signal, onProgress: () => ac.abort() }),
      { name: 'AbortError' },
    );
  });
  it('progress totals equal the byte count in every mode', async () => {
    const datas = [randomBytes(2 * CHUNK_SIZE + 3), randomBytes(10), Buffer.alloc(0), randomBytes(CHUNK_SIZE)];
    const jobs = datas.map((d, i) => whole(file(`p${i}.bin`, d)));
    const total = datas.reduce((n, d) => n + d.length, 0);
    for (const useMainThread of [true, false]) {
      let sum = 0;
      let calls = 0;
      await hashJobs(jobs, { algorithm: 'blake2b', useMainThread, onProgress: (b) => ((sum += b), calls++) });
      assert.equal(sum, total);
      assert.ok(calls >= 1);
    }
  });
  it('empty job list', async () => {
    assert.deepEqual(await hashJobs([], { algorithm: 'sha256' }), []);
  });
  it('planThreads: no workers for small totals, maxWorkers caps, coarse shards oversubscribe', () => {
    const MB = 1e6;
    assert.deepEqual(planThreads([50 * MB, 40 * MB], { cores: 2 }), { threads: 1, mainThread: true });
    assert.deepEqual(planThreads([50 * MB, 40 * MB], { cores: 2, useMainThread: false }), { threads: 2, mainThread: false });
    assert.equal(planThreads(Array(8).fill(512 * MB), { cores: 2 }).threads, 2);
    assert.equal(planThreads(Array(8).fill(512 * MB), { cores: 2, maxWorkers: 1 }).threads, 1);
    assert.equal(planThreads([3000 * MB], { cores: 2 }).threads, 1);
    // One 3 GiB file in 1 GB shards: 1, 1, 1, 0.22 GB. Two threads would leave a core idle at the tail.
    assert.equal(planThreads([1000 * MB, 1000 * MB, 1000 * MB, 221 * MB], { cores: 2 }).threads, 4);
    assert.equal(planThreads([1000 * MB, 1000 * MB, 1000 * MB, 221 * MB], { cores: 2, maxWorkers: 2 }).threads, 2);
    // One giant job no thread count can split: no extra threads (they would only cost memory).
    assert.equal(planThreads([3000 * MB, 50 * MB, 40 * MB, 30 * MB], { cores: 2 }).threads, 2);
    // Many similar files balance by themselves.
    assert.equal(planThreads([...Array(8).fill(512 * MB), ...Array(200).fill(MB / 2)], { cores: 2 }).threads, 2);
  });
});

describe('failures', () => {
  it('rejects bad options and jobs', async () => {
    await assert.rejects(hashJobs([], { algorithm: 'md5' as never }), { code: 'USAGE' });
    await assert.rejects(hashJobs([], { algorithm: 'sha256', maxWorkers: 0 }), { code: 'USAGE' });
    await assert.rejects(hashJobs([{ path: 'x', start: 5, end: 1 }], { algorithm: 'sha256' }), { code: 'BAD_INPUT' });
  });
  for (const useMainThread of [true, false]) {
    it(`missing file rejects with BAD_INPUT (useMainThread=${useMainThread})`, async () => {
      const ok = file('ok.bin', 'hello');
      const missing = join(dir, 'does-not-exist.bin');
      const err = await hashJobs([whole(ok), { path: missing, start: 0, end: 10 }], { algorithm: 'sha256', useMainThread }).then(
        () => assert.fail('should reject'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ModelSealError);
      assert.equal(err.code, 'BAD_INPUT');
      assert.match(err.message, new RegExp(`^cannot read ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*ENOENT`));
    });
    it(`a file shorter than its job (shrank) rejects with BAD_INPUT (useMainThread=${useMainThread})`, async () => {
      const p = file('shrunk.bin', randomBytes(CHUNK_SIZE + 10));
      await assert.rejects(hashJobs([{ path: p, start: 0, end: 3 * CHUNK_SIZE }], { algorithm: 'sha256', useMainThread }), {
        code: 'BAD_INPUT',
        message: new RegExp(`^cannot read .*shrunk\\.bin: file ended at byte ${CHUNK_SIZE + 10}`),
      });
    });
    it(`a directory rejects with BAD_INPUT (useMainThread=${useMainThread})`, async () => {
      await assert.rejects(hashJobs([{ path: dir, start: 0, end: 10 }], { algorithm: 'sha256', useMainThread }), {
        code: 'BAD_INPUT',
      });
    });
  }
  it('a big file that shrank, hashed by the calling thread alone, rejects with BAD_INPUT', async () => {
    const p = sparse('sparse-shrunk.bin', 20 * CHUNK_SIZE);
    await assert.rejects(hashJobs([{ path: p, start: 0, end: 40 * CHUNK_SIZE }], { algorithm: 'sha256' }), {
      code: 'BAD_INPUT',
      message: new RegExp(`^cannot read .*sparse-shrunk\\.bin: file ended at byte ${20 * CHUNK_SIZE}`),
    });
    await assert.rejects(hashJobs([{ path: join(dir, 'nope'), start: 0, end: 40 * CHUNK_SIZE }], { algorithm: 'sha256' }), {
      code: 'BAD_INPUT',
      message: /ENOENT/,
    });
  });
  it('a failure with workers running leaves no worker behind: the process exits by itself', () => {
    const big = sparse('sparse-fail.bin', MIN_PARALLEL_BYTES + CHUNK_SIZE);
    const jobs = [
      { path: big, start: 0, end: MIN_PARALLEL_BYTES + CHUNK_SIZE },
      { path: join(dir, 'gone.bin'), start: 0, end: 100 },
    ];
    const script = `const { hashJobs } = await import(${JSON.stringify(ENGINE_URL)});
      try { await hashJobs(${JSON.stringify(jobs)}, { algorithm: 'sha256' }); console.log('resolved'); }
      catch (e) { console.log(e.code); }`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 15000 });
    assert.equal(r.signal, null, 'the child hung (a worker kept it alive)');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'BAD_INPUT');
  });
  for (const useMainThread of [true, false]) {
    it(`abort mid-hash rejects with the signal's reason (useMainThread=${useMainThread})`, async () => {
      const size = MIN_PARALLEL_BYTES + 64 * CHUNK_SIZE;
      const big = sparse(`sparse-abort-${useMainThread}.bin`, size);
      const jobs = [0, 1, 2, 3].map((q) => ({ path: big, start: (q * size) / 4, end: ((q + 1) * size) / 4 }));
      const ac = new AbortController();
      const reason = new Error('stop now');
      let seen = 0;
      await assert.rejects(
        hashJobs(jobs, {
          algorithm: 'sha256',
          useMainThread,
          signal: ac.signal,
          onProgress: (b) => {
            seen += b;
            ac.abort(reason);
          },
        }),
        (e) => e === reason,
      );
      assert.ok(seen < size, 'aborted before the end');
    });
  }
  it('an already-aborted signal rejects at once', async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(hashJobs([whole(file('a.bin', 'x'))], { algorithm: 'sha256', signal: ac.signal }), {
      name: 'AbortError',
    });
  });
});
