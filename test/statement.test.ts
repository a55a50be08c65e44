import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isModelSealError } from '../src/errors.js';
import { compareCodePoint, compareReference } from '../src/manifest/order.js';
import { rootDigest } from '../src/manifest/root.js';
import {
  LEGACY_MODEL_NAME,
  LEGACY_PREDICATE_TYPE,
  PREDICATE_TYPE,
  STATEMENT_TYPE,
  decodeStatement,
  encodeStatement,
} from '../src/manifest/statement.js';
import type { Manifest, ManifestItem } from '../src/manifest/types.js';
import { MT_VECTORS, OMS_BUNDLES } from './helpers/paths.js';
import { specBundleText } from './helpers/spec.js';

const CONFIG = '09d343c37de0bba143b7ff45f82c0ab9308531dcc78b56b8eb40c5938c4be418';
const WEIGHTS = '6bc14bdc4517a7a682c6910de2e2946eb8e1ecd04090728fef6d092a7ceb62c5';
const TINY_ROOT = 'ac42b02e7c1fec8802e86cd681999870e989fa31adb379038bdf6973caac81ad';

const tinyManifest: Manifest = {
  modelName: 'tiny-model',
  serialization: { method: 'files', hashType: 'sha256', allowSymlinks: false, ignorePaths: ['.git', '.gitattributes', '.github', '.gitignore'] },
  items: [
    { name: 'config.json', algorithm: 'sha256', digest: CONFIG },
    { name: 'weights.bin', algorithm: 'sha256', digest: WEIGHTS },
  ],
  rootDigest: TINY_ROOT,
};

const specPayload = (): Buffer => Buffer.from(JSON.parse(specBundleText()).dsseEnvelope.payload, 'base64');

function statementWith(mutate: (s: any) => void): Buffer {
  const s = JSON.parse(specPayload().toString('utf8'));
  mutate(s);
  return Buffer.from(JSON.stringify(s));
}

function rejects(payload: Buffer, pattern: RegExp): void {
  assert.throws(
    () => decodeStatement(payload),
    (e: unknown) => isModelSealError(e) && e.code === 'BAD_BUNDLE' && pattern.test(e.message),
  );
}

describe('rootDigest (spec §13)', () => {
  const items = (pairs: [string, string][]): ManifestItem[] => pairs.map(([name, digest]) => ({ name, algorithm: 'x', digest }));
  it('sha256 files', () => assert.equal(rootDigest(items([['config.json', CONFIG], ['weights.bin', WEIGHTS]])), TINY_ROOT));
  it('blake2b files', () => {
    assert.equal(
      rootDigest(items([
        ['config.json', '9f201cd0d323c605d83df1dce6ac6504cbae5ed8985ab7632842e8cdcf5cd28c2d18fb275408b654dc89b71aff8dd18510da15b92dbb9277ddc6326c7851bb5d'],
        ['weights.bin', '261b876c506a27b2ebc4a45e01dc9337dbbc666fe8a623d7d91c53b1293147a6119814704ef9e3d3cc83fffa1285873625b8a4a0373f4dee9a6a7a13557122d7'],
      ])),
      '3057b9fae31b3fbf4d431c27933d4cee20d2307ec00d39a285da7f95c49f29f3',
    );
  });
  it('blake3 files', () => {
    assert.equal(
      rootDigest(items([
        ['config.json', 'b409f3a18cadfc296dc1e0bc1af8cfc28be056f869f1affb710357a9740f2c07'],
        ['weights.bin', '3e27af6e1fd3054e9aa642e0db5f479c3ac0ef08f942680890a2d3b004c2e473'],
      ])),
      '26bc001416a6749b152f47d22d535ca75eb8b2b85735655c80b86c380ea91da3',
    );
  });
  it('shards: code-point order vs reference order (§13.2)', () => {
    const shards = items([
      ['config.json:0:8', '91d2e0ddb6ddb90ce4685b8874bdcb32f19e6ef0ad8f2cb67f7588205a37a545'],
      ['config.json:8:14', '29488598062ad9549801787c0f7981177d72b26ad4d11ea2de1e53a4dc1b9aeb'],
      ['weights.bin:0:8', '924592b9b103f14f833faafb67f480691f01988aa457c0061769f58cd47311bc'],
      ['weights.bin:8:16', 'eaedf3a49c391c0207a1e7e4ae976941b384bf6137ffa5573d3522c1297806d4'],
      ['weights.bin:16:20', '975ca72b6bdf0e938bcc214727c939f7fc64109ee8f14add455a2364e8d1451f'],
    ]);
    const spec = [...shards].sort((a, b) => compareCodePoint(a.name, b.name));
    assert.deepEqual(spec.map((i) => i.name).slice(3), ['weights.bin:16:20', 'weights.bin:8:16']);
    assert.equal(rootDigest(spec), 'af8a53e08660e05cf99710648b4486dfbbd085ad161b541b617113ae1ee41d58');
    const reference = [...shards].reverse().sort((a, b) => compareReference(a.name, b.name));
    assert.equal(rootDigest(reference), '5b8856cdd3cc5663803e1bfd47edacb5992518c1d895c604c0c6df496aae0c8f');
  });
  it('signme fixtures (§13.3)', () => {
    const s2 = '32dcb1f8e1ae52d5963e56a6ba06ab58b424c15ed2a6b70d2feca1d089370028';
    assert.equal(rootDigest(items([['signme-1', 'bc9a717db6064a32cbe9eae6fc40651dd6d36ef1757183f590eff2b1765d7ebc'], ['signme-2', s2]])), '92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4');
    assert.equal(rootDigest(items([['signme-1', 'f6310066c7320497ea554260c32c43660bff648cb2a61194832cc086077085e1'], ['signme-2', s2]])), '61d4849d9d90076d6215f4d525f13d6574af8e3f67aef3e6f36fc40a14fdd226');
    assert.equal(rootDigest(items([['.', 'bc9a717db6064a32cbe9eae6fc40651dd6d36ef1757183f590eff2b1765d7ebc']])), 'afa48c8674afe334b8a7dea34f7b46ab256e9255edf8da2132792341b667a45b');
  });
  it('empty manifest is the SHA-256 of nothing', () => assert.equal(rootDigest([]), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'));
});

describe('encodeStatement', () => {
  it('reproduces the §13.1 payload byte for byte (881 bytes)', () => {
    const encoded = encodeStatement(tinyManifest);
    assert.equal(encoded.length, 881);
    assert.ok(encoded.equals(specPayload()));
  });
  it('writes shard_size as an integer, only for shards, and omits empty ignore_paths', () => {
    const shards = JSON.parse(encodeStatement({ ...tinyManifest, serialization: { method: 'shards', hashType: 'sha256', shardSize: 8, allowSymlinks: false, ignorePaths: [] } }).toString());
    assert.deepEqual(Object.keys(shards.predicate.serialization), ['method', 'hash_type', 'shard_size', 'allow_symlinks']);
    assert.equal(shards.predicate.serialization.shard_size, 8);
    const files = JSON.parse(encodeStatement({ ...tinyManifest, serialization: { method: 'files', hashType: 'sha256', allowSymlinks: true } }).toString());
    assert.deepEqual(files.predicate.serialization, { method: 'files', hash_type: 'sha256', allow_symlinks: true });
    assert.deepEqual(Object.keys(files), ['_type', 'subject', 'predicateType', 'predicate']);
    assert.deepEqual(Object.keys(files.predicate.resources[0]), ['name', 'algorithm', 'digest']);
  });
  it('escapes non-ASCII as \\uXXXX like the reference, and decodes back', () => {
    const items = [{ name: '模型.bin', algorithm: 'sha256', digest: CONFIG }, { name: 'e\u{1F600}.bin', algorithm: 'sha256', digest: WEIGHTS }];
    const text = encodeStatement({ ...tinyManifest, items }).toString('utf8');
    assert.ok(text.includes('"\\u6a21\\u578b.bin"'));
    assert.ok(text.includes('"e\\ud83d\\ude00.bin"'));
    assert.ok(/^[\x00-\x7f]*$/.test(text));
    assert.deepEqual(decodeStatement(Buffer.from(text)).items, items);
  });
  it('refuses a bad shard size', () => {
    assert.throws(() => encodeStatement({ ...tinyManifest, serialization: { method: 'shards', hashType: 'sha256', shardSize: 0, allowSymlinks: false } }), /shard size/);
  });
});

describe('decodeStatement: accepted inputs', () => {
  it('decodes the §13.1 payload', () => {
    const m = decodeStatement(specPayload());
    assert.equal(m.modelName, 'tiny-model');
    assert.equal(m.rootDigest, TINY_ROOT);
    assert.deepEqual(m.items, tinyManifest.items);
    assert.deepEqual(m.serialization, tinyManifest.serialization);
    assert.equal(m.legacy, undefined);
  });
  it('accepts the reference shard label and a float shard_size (1000000000.0)', () => {
    const digest = CONFIG;
    const root = rootDigest([{ name: 'a', algorithm: '', digest }]);
    const text = `{"_type":"${STATEMENT_TYPE}","subject":[{"name":"m","digest":{"sha256":"${root}"}}],"predicateType":"${PREDICATE_TYPE}",` +
      `"predicate":{"serialization":{"method":"shards","hash_type":"sha256","shard_size":1000000000.0,"allow_symlinks":false},` +
      `"resources":[{"name":"dir/w.bin:0:14","algorithm":"sha256-sharded-1000000000","digest":"${digest}"}]}}`;
    const m = decodeStatement(Buffer.from(text));
    assert.equal(m.serialization.shardSize, 1000000000);
    assert.equal(m.items[0]!.algorithm, 'sha256-sharded-1000000000');
  });
  it('accepts a path containing ":" in shard names (last two fields are the range)', () => {
    const p = statementWith((s) => {
      s.predicate.serialization = { method: 'shards', hash_type: 'sha256', shard_size: 8, allow_symlinks: false };
      s.predicate.resources = [{ name: 'a:b:0:8', algorithm: 'sha256', digest: CONFIG }];
      s.subject[0].digest.sha256 = rootDigest([{ name: '', algorithm: '', digest: CONFIG }]);
    });
    assert.equal(decodeStatement(p).items[0]!.name, 'a:b:0:8');
  });
  it('keeps the listed order (never re-sorts) and ignores unknown fields', () => {
    const p = statementWith((s) => {
      s.predicate.resources.reverse();
      s.predicate.resources[0].uri = 'x';
      s.extra = 1;
      s.subject[0].digest.sha256 = rootDigest([{ name: '', algorithm: '', digest: WEIGHTS }, { name: '', algorithm: '', digest: CONFIG }]);
    });
    assert.deepEqual(decodeStatement(p).items.map((i) => i.name), ['weights.bin', 'config.json']);
  });
  it('decodes the legacy Digests/v0.1 predicate (§4.1)', () => {
    const text = JSON.stringify({
      _type: STATEMENT_TYPE,
      subject: [
        { name: 'signme-1', digest: { sha256: 'bc9a717db6064a32cbe9eae6fc40651dd6d36ef1757183f590eff2b1765d7ebc' }, annotations: { actual_hash_algorithm: 'file-sha256' } },
        { name: 'signme-2', digest: { sha256: '32dcb1f8e1ae52d5963e56a6ba06ab58b424c15ed2a6b70d2feca1d089370028' }, annotations: { actual_hash_algorithm: 'file-sha256' } },
      ],
      predicateType: LEGACY_PREDICATE_TYPE,
      predicate: { unused: 'Unused, just passed due to API requirements' },
    });
    const m = decodeStatement(Buffer.from(text));
    assert.equal(m.legacy, true);
    assert.equal(m.modelName, LEGACY_MODEL_NAME);
    assert.deepEqual(m.serialization, { method: 'files', hashType: 'sha256', allowSymlinks: false });
    assert.deepEqual(m.items.map((i) => [i.name, i.algorithm]), [['signme-1', 'sha256'], ['signme-2', 'sha256']]);
    assert.equal(m.rootDigest, '92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4');
  });
  it('decodes the statements of the oms-spec valid bundles', () => {
    const dir = join(OMS_BUNDLES, 'valid');
    for (const f of readdirSync(dir)) {
      const bundle = JSON.parse(readFileSync(join(dir, f), 'utf8'));
      const m = decodeStatement(Buffer.from(bundle.dsseEnvelope.payload, 'base64'));
      assert.deepEqual(m.items.map((i) => i.name), ['signme-1', 'signme-2'], f);
    }
  });
  it('decodes the model-transparency v1.0.0 statements', () => {
    const read = (d: string) => decodeStatement(Buffer.from(JSON.parse(readFileSync(join(MT_VECTORS, d, 'model.sig'), 'utf8')).dsseEnvelope.payload, 'base64'));
    assert.deepEqual(read('v1.0.0-elliptic-key').items.map((i) => i.name), ['.']);
    assert.deepEqual(read('v1.0.0-certificate').items.map((i) => i.name), ['signme-1', 'signme-2']);
    assert.deepEqual(read('v1.0.0-sigstore').items.map((i) => i.name), ['signme-1', 'signme-2']);
  });
});

describe('decodeStatement: every check fails with BAD_BUNDLE', () => {
  it('non-JSON and non-object payloads', () => {
    rejects(Buffer.from('{"_type":'), /not valid JSON/);
    rejects(Buffer.from('[1]'), /not a JSON object/);
    rejects(Buffer.alloc(0), /not valid JSON/);
  });
  it('wrong _type', () => rejects(statementWith((s) => { s._type = 'https://in-toto.io/Statement/v0.1'; }), /Expected in-toto .* but got/));
  it('wrong predicateType (oms-spec invalid-payload vector)', () => {
    const dir = join(OMS_BUNDLES, 'invalid-payload');
    for (const f of readdirSync(dir)) {
      const bundle = JSON.parse(readFileSync(join(dir, f), 'utf8'));
      rejects(Buffer.from(bundle.dsseEnvelope.payload, 'base64'), /Predicate type mismatch/);
    }
    rejects(statementWith((s) => { delete s.predicateType; }), /Predicate type mismatch/);
  });
  it('zero or two subjects, no subject name, no or bad sha256', () => {
    rejects(statementWith((s) => { s.subject = []; }), /exactly one subject, got 0/);
    rejects(statementWith((s) => { s.subject.push(s.subject[0]); }), /exactly one subject, got 2/);
    rejects(statementWith((s) => { delete s.subject; }), /exactly one subject/);
    rejects(statementWith((s) => { s.subject[0].name = ''; }), /no name/);
    rejects(statementWith((s) => { s.subject[0].digest = { sha512: 'ab' }; }), /no sha256 digest/);
    rejects(statementWith((s) => { s.subject[0].digest.sha256 = TINY_ROOT.toUpperCase(); }), /lower-case hex/);
  });
  it('missing predicate or serialization', () => {
    rejects(statementWith((s) => { delete s.predicate; }), /no predicate/);
    rejects(statementWith((s) => { delete s.predicate.serialization; }), /no serialization/);
  });
  it('bad serialization values', () => {
    rejects(statementWith((s) => { s.predicate.serialization.method = 'bytes'; }), /Unknown serialization type/);
    rejects(statementWith((s) => { s.predicate.serialization.hash_type = 'blake2'; }), /unsupported hash_type/);
    rejects(statementWith((s) => { s.predicate.serialization.allow_symlinks = 'false'; }), /allow_symlinks must be a boolean/);
    rejects(statementWith((s) => { delete s.predicate.serialization.allow_symlinks; }), /allow_symlinks must be a boolean/);
    rejects(statementWith((s) => { s.predicate.serialization.shard_size = 8; }), /shard_size must be absent/);
    rejects(statementWith((s) => { s.predicate.serialization.ignore_paths = '.git'; }), /ignore_paths/);
  });
  it('bad shard_size', () => {
    for (const size of [undefined, 0, -8, 1.5, '8', null]) {
      rejects(statementWith((s) => { s.predicate.serialization.method = 'shards'; s.predicate.serialization.shard_size = size; }), /shard_size must be a positive integer/);
    }
  });
  it('empty or missing resources', () => {
    rejects(statementWith((s) => { s.predicate.resources = []; }), /no resources/);
    rejects(statementWith((s) => { delete s.predicate.resources; }), /no resources/);
  });
  it('unsafe names', () => {
    const cases: [string, RegExp][] = [['/etc/passwd', /absolute/], ['../x', /\.\./], ['a/../../x', /\.\./], ['', /empty/], ['dir/', /ends with/]];
    for (const [name, pattern] of cases) rejects(statementWith((s) => { s.predicate.resources[0].name = name; }), pattern);
    rejects(statementWith((s) => { s.predicate.resources[0].name = 42; }), /no name/);
  });
  it('bad shard names', () => {
    const shard = (name: string) => statementWith((s) => {
      s.predicate.serialization = { method: 'shards', hash_type: 'sha256', shard_size: 8, allow_symlinks: false };
      s.predicate.resources = [{ name, algorithm: 'sha256', digest: CONFIG }];
    });
    rejects(shard('w.bin'), /path:start:end/);
    rejects(shard('w.bin:8:8'), /start >= end/);
    rejects(shard('w.bin:08:16'), /path:start:end/);
    rejects(shard('../w.bin:0:8'), /\.\./);
  });
  it('duplicate names (also after POSIX normalisation)', () => {
    rejects(statementWith((s) => { s.predicate.resources[1].name = 'config.json'; }), /twice/);
    rejects(statementWith((s) => { s.predicate.resources[1].name = './config.json'; }), /twice/);
  });
  it('bad digests and algorithm labels', () => {
    rejects(statementWith((s) => { s.predicate.resources[0].digest = 'xyz'; }), /not a hex string/);
    rejects(statementWith((s) => { s.predicate.resources[0].digest = 'abcd'; }), /hex digits/);
    rejects(statementWith((s) => { s.predicate.resources[0].algorithm = 'blake3'; }), /algorithm "blake3"/);
    rejects(statementWith((s) => { s.predicate.resources[0].algorithm = 'sha256-sharded-8'; }), /algorithm/);
  });
  it('root digest inconsistent with the listed resources', () => {
    rejects(statementWith((s) => { s.predicate.resources.reverse(); }), new RegExp(`Manifest is inconsistent. Root digest is ${TINY_ROOT}, but the included resources hash to [0-9a-f]{64}`));
    rejects(statementWith((s) => { s.predicate.resources[0].digest = WEIGHTS; }), /Manifest is inconsistent/);
  });
  it('a NUL in a name, and ignore_paths entries that are not strings', () => {
    rejects(statementWith((s) => { s.predicate.resources[0].name = 'config.json\u0000.txt'; }), /NUL/);
    rejects(statementWith((s) => { s.predicate.serialization.ignore_paths = ['.git', 7]; }), /ignore_paths must be an array of strings/);
  });
  it('legacy statements: unsafe and duplicate file names', () => {
    const legacy = (names: string[]) => Buffer.from(JSON.stringify({
      _type: STATEMENT_TYPE,
      subject: names.map((name) => ({ name, digest: { sha256: CONFIG } })),
      predicateType: LEGACY_PREDICATE_TYPE,
      predicate: {},
    }));
    rejects(legacy(['../etc/passwd']), /\.\./);
    rejects(legacy(['/etc/passwd']), /absolute/);
    rejects(legacy(['a', './a']), /twice/);
  });
  it('legacy statement without subjects', () => {
    rejects(Buffer.from(JSON.stringify({ _type: STATEMENT_TYPE, subject: [], predicateType: LEGACY_PREDICATE_TYPE, predicate: {} })), /no files/);
  });
});
