/** Trust policy by Sigstore identity + issuer, against a local Sigstore (Fulcio, Rekor, TSA). */
import assert from 'node:assert/strict';
import { cpSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sign } from '../src/api.js';
import { sigstoreSigner } from '../src/signing/sigstore.js';
import { call, cleanupAll, exampleRepo, startTestServer } from './helpers/server.js';
import { fakeIdentityToken, startLocalSigstore, type LocalSigstore } from './helpers/sigstore-services.js';

let svc: LocalSigstore;
before(async () => {
  svc = await startLocalSigstore();
});
after(async () => {
  await svc?.stop();
  cleanupAll();
});

describe('server: sigstore policy', () => {
  test('identity + issuer: the right signer loads, another identity or issuer is refused', { timeout: 60_000 }, async () => {
    const repo = await exampleRepo();
    const d = join(repo.modelsDir, 'keyless-model');
    cpSync(join(repo.modelsDir, 'custom-good'), d, { recursive: true });
    unlinkSync(join(d, 'model.sig'));
    const token = fakeIdentityToken({ email: 'release@example.test', iss: 'https://issuer.example.test' });
    await sign(d, { signer: sigstoreSigner({ identityToken: token, trustConfig: svc.trustConfigPath, env: {} }), signaturePath: join(d, 'model.sig') });
    cpSync(d, join(repo.modelsDir, 'keyless-wrong-identity'), { recursive: true });
    cpSync(d, join(repo.modelsDir, 'keyless-wrong-issuer'), { recursive: true });
    writeFileSync(
      repo.policyPath,
      JSON.stringify({
        entries: [
          { models: 'keyless-model', sigstore: [{ identity: 'release@example.test', issuer: 'https://issuer.example.test', trustConfig: svc.trustConfigPath }] },
          { models: 'keyless-wrong-identity', sigstore: [{ identity: 'mallory@example.test', issuer: 'https://issuer.example.test', trustConfig: svc.trustConfigPath }] },
          { models: 'keyless-wrong-issuer', sigstore: [{ identity: 'release@example.test', issuer: 'https://accounts.google.com', trustConfig: svc.trustConfigPath }] },
        ],
      }),
    );
    const s = await startTestServer(repo);
    try {
      let r = await call(s, 'POST', '/v2/repository/models/keyless-model/load', {});
      assert.equal(r.status, 200, r.text);
      r = await call(s, 'GET', '/v2/models/keyless-model');
      assert.equal(r.json.parameters['modelseal.signer.identity'], 'release@example.test');
      assert.equal(r.json.parameters['modelseal.signer.issuer'], 'https://issuer.example.test');
      for (const m of ['keyless-wrong-identity', 'keyless-wrong-issuer']) {
        r = await call(s, 'POST', `/v2/repository/models/${m}/load`, {});
        assert.equal(r.status, 400, r.text);
        assert.match(r.json.error, new RegExp(`^model '${m}' failed signature verification: UNTRUSTED_SIGNER: `));
      }
    } finally {
      await s.close();
    }
  });
});
