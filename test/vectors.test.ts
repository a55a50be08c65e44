/**
 * Bundles written by the Python reference (model_signing v1.0.0) must verify with our verifier,
 * and must stop verifying after one byte changes, a file is added, or a file is removed.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { verify } from '../src/api.js';
import { certificateVerifier } from '../src/verifying/certificate.js';
import { keyVerifier } from '../src/verifying/key.js';
import type { Verifier } from '../src/verifying/verifier.js';
import type { ErrorCode } from '../src/errors.js';
import { rejectsCode } from './helpers/errors.js';
import { MT_KEYS, MT_VECTORS } from './helpers/paths.js';
import { copyWritable } from './helpers/tmp.js';

interface Case {
  folder: string;
  /** The model path relative to the folder ('' = the folder itself). */
  model: string;
  verifier: () => Verifier;
  files: string[];
}

const CASES: Case[] = [
  {
    folder: 'v1.0.0-elliptic-key',
    model: 'signme-1', // signed as a single file: the reference names its one resource '.'
    verifier: () => keyVerifier({ publicKey: readFileSync(join(MT_KEYS, 'signing-key-pub.pem')) }),
    files: ['.'],
  },
  {
    folder: 'v1.0.0-certificate',
    model: '',
    verifier: () => certificateVerifier({ trustAnchors: [readFileSync(join(MT_KEYS, 'ca-cert.pem'))] }),
    files: ['signme-1', 'signme-2'],
  },
];

async function check(dir: string, c: Case) {
  return verify(join(dir, c.model), { verifier: c.verifier(), signaturePath: join(dir, 'model.sig') });
}

const rejects = (dir: string, c: Case, code: ErrorCode, pattern: RegExp): Promise<void> => rejectsCode(check(dir, c), code, pattern);

for (const c of CASES) {
  describe(`reference vector ${c.folder}`, () => {
    test('verifies in place', async () => {
      const r = await check(join(MT_VECTORS, c.folder), c);
      assert.deepEqual(r.manifest.items.map((i) => i.name), c.files);
      assert.equal(r.filesCompared, c.files.length);
      assert.equal(r.method, c.verifier().method);
    });

    test('fails after one byte of a model file changes', async () => {
      const dir = copyWritable(join(MT_VECTORS, c.folder));
      const f = join(dir, 'signme-1');
      const b = readFileSync(f);
      b[0] = b[0]! ^ 1;
      writeFileSync(f, b);
      await rejects(dir, c, 'CONTENT_MISMATCH', /changed: (\.|signme-1)/);
    });

    test('fails after a file is added', async () => {
      const dir = copyWritable(join(MT_VECTORS, c.folder));
      if (c.model) {
        // A single-file model cannot gain a file; appending a byte is the closest change.
        writeFileSync(join(dir, c.model), Buffer.concat([readFileSync(join(dir, c.model)), Buffer.from('!')]));
        await rejects(dir, c, 'CONTENT_MISMATCH', /changed/);
      } else {
        writeFileSync(join(dir, 'extra.bin'), 'planted');
        await rejects(dir, c, 'CONTENT_MISMATCH', /extra: extra\.bin/);
        // ... which --ignore-unsigned-files tolerates, and only that.
        const r = await verify(dir, { verifier: c.verifier(), signaturePath: join(dir, 'model.sig'), ignoreUnsignedFiles: true });
        assert.equal(r.filesCompared, c.files.length);
      }
    });

    test('fails after a file is removed', async () => {
      const dir = copyWritable(join(MT_VECTORS, c.folder));
      if (c.model) {
        rmSync(join(dir, c.model));
        await rejects(dir, c, 'BAD_INPUT', /cannot read model path/);
      } else {
        rmSync(join(dir, 'signme-2'));
        await rejects(dir, c, 'CONTENT_MISMATCH', /missing: signme-2/);
        await assert.rejects(
          verify(dir, { verifier: c.verifier(), signaturePath: join(dir, 'model.sig'), ignoreUnsignedFiles: true }),
          { code: 'CONTENT_MISMATCH' },
        );
      }
    });
  });
}

describe('reference vectors and the wrong signer', () => {
  test('the key vector fails with another P-384 key', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const other = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ type: 'spki', format: 'pem' });
    const dir = join(MT_VECTORS, 'v1.0.0-elliptic-key');
    await assert.rejects(verify(join(dir, 'signme-1'), { verifier: keyVerifier({ publicKey: other }), signaturePath: join(dir, 'model.sig') }), (e: { code?: string }) => {
      assert.ok(e.code === 'UNTRUSTED_SIGNER' || e.code === 'SIGNATURE_INVALID', String(e.code));
      return true;
    });
  });

  test('the certificate vector fails against the intermediate alone (path must reach a self-signed anchor)', async () => {
    const dir = join(MT_VECTORS, 'v1.0.0-certificate');
    await assert.rejects(
      verify(dir, { verifier: certificateVerifier({ trustAnchors: [readFileSync(join(MT_KEYS, 'int-ca-cert.pem'))] }), signaturePath: join(dir, 'model.sig') }),
      { code: 'UNTRUSTED_SIGNER' },
    );
  });

  test('a key bundle verified as certificate, and a certificate bundle verified as key, both fail', async () => {
    const key = join(MT_VECTORS, 'v1.0.0-elliptic-key');
    await assert.rejects(
      verify(join(key, 'signme-1'), { verifier: certificateVerifier({ trustAnchors: [readFileSync(join(MT_KEYS, 'ca-cert.pem'))] }), signaturePath: join(key, 'model.sig') }),
      (e: { code?: string }) => e.code === 'BAD_BUNDLE' || e.code === 'UNTRUSTED_SIGNER',
    );
    const cert = join(MT_VECTORS, 'v1.0.0-certificate');
    await assert.rejects(
      verify(cert, { verifier: keyVerifier({ publicKey: readFileSync(join(MT_KEYS, 'signing-key-pub.pem')) }), signaturePath: join(cert, 'model.sig') }),
      (e: { code?: string }) => e.code === 'BAD_BUNDLE' || e.code === 'UNTRUSTED_SIGNER',
    );
  });
});
