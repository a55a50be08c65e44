import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { isModelSealError } from '../src/errors.js';
import { decodeJwtClaims, detectAmbientToken, getIdentityToken, interactiveToken } from '../src/oidc/index.js';
import { sigstoreSigner } from '../src/signing/sigstore.js';
import { verifySigstoreBundle } from '../src/verifying/sigstore.js';
import { CONFIDENTIAL_CLIENT } from './helpers/oidc-provider.js';
import { fakeIdentityToken, useSigstoreWithOidc } from './helpers/sigstore-services.js';
import { rejectsCode } from './helpers/errors.js';


/** A tiny HTTP endpoint on 127.0.0.1 that records requests and answers with `reply`. */
async function endpoint(reply: (req: IncomingMessage, url: URL) => { status: number; body: string }): Promise<{ url: string; host: string; seen: { url: URL; headers: IncomingMessage['headers'] }[]; stop(): Promise<void> }> {
  const seen: { url: URL; headers: IncomingMessage['headers'] }[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    seen.push({ url, headers: req.headers });
    const r = reply(req, url);
    res.writeHead(r.status, { 'content-type': 'application/json' }).end(r.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `http://${host}`,
    host,
    seen,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const NO_CI = { PATH: process.env['PATH'] };

describe('ambient CI credentials, reproduced locally', () => {
  it('GitHub Actions: asks the token-request URL for audience sigstore with the bearer token', async () => {
    const token = fakeIdentityToken({ email: undefined, sub: 'repo:acme/model:ref:refs/heads/main', iss: 'https://token.actions.githubusercontent.com' });
    const gh = await endpoint((req, url) =>
      req.headers.authorization === 'Bearer request-secret' && url.searchParams.get('audience') === 'sigstore'
        ? { status: 200, body: JSON.stringify({ value: token }) }
        : { status: 401, body: '{}' },
    );
    try {
      const env = { ...NO_CI, GITHUB_ACTIONS: 'true', ACTIONS_ID_TOKEN_REQUEST_URL: `${gh.url}/token?api-version=2.0`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request-secret' };
      const got = await detectAmbientToken({ env });
      assert.deepEqual(got, { provider: 'github-actions', token });
      assert.equal(gh.seen[0]!.url.searchParams.get('api-version'), '2.0');
      await rejectsCode(detectAmbientToken({ env: { ...env, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'wrong' } }), 'NETWORK', /HTTP 401/);
      await rejectsCode(detectAmbientToken({ env: { ...NO_CI, ACTIONS_ID_TOKEN_REQUEST_URL: gh.url } }), 'NETWORK', /id-token: write/);
    } finally {
      await gh.stop();
    }
  });

  it('GitLab CI: SIGSTORE_ID_TOKEN from the job id_tokens; a job without it is told how to add it', async () => {
    const token = fakeIdentityToken({ iss: 'https://gitlab.com' });
    assert.deepEqual(await detectAmbientToken({ env: { ...NO_CI, GITLAB_CI: 'true', SIGSTORE_ID_TOKEN: token } }), { provider: 'gitlab', token });
    await rejectsCode(detectAmbientToken({ env: { ...NO_CI, GITLAB_CI: 'true' } }), 'BAD_INPUT', /id_tokens/);
  });

  it('Buildkite: runs buildkite-agent oidc request-token --audience sigstore', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'modelseal-bk-'));
    try {
      const agent = join(dir, 'buildkite-agent');
      writeFileSync(agent, `#!/bin/sh\n[ "$1 $2 $3 $4" = "oidc request-token --audience sigstore" ] || { echo "bad args: $*" >&2; exit 3; }\necho "bk.token.value"\n`);
      chmodSync(agent, 0o755);
      const env = { PATH: `${dir}:${process.env['PATH']}`, BUILDKITE: 'true' };
      assert.deepEqual(await detectAmbientToken({ env }), { provider: 'buildkite', token: 'bk.token.value' });
      await rejectsCode(detectAmbientToken({ env, audience: 'other' }), 'NETWORK', /bad args/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('Google Cloud: the metadata server identity endpoint (GCE_METADATA_HOST)', async () => {
    const md = await endpoint((req, url) =>
      req.headers['metadata-flavor'] === 'Google' && url.pathname === '/computeMetadata/v1/instance/service-accounts/default/identity' && url.searchParams.get('audience') === 'sigstore'
        ? { status: 200, body: 'gcp.id.token' }
        : { status: 403, body: '' },
    );
    try {
      assert.deepEqual(await detectAmbientToken({ env: { ...NO_CI, GCE_METADATA_HOST: md.host } }), { provider: 'gcp', token: 'gcp.id.token' });
      assert.equal(md.seen[0]!.url.searchParams.get('format'), 'full');
    } finally {
      await md.stop();
    }
  });

  it('finds nothing outside CI; useAmbientCredentials then fails, and CI without a token does not wait for a browser', async () => {
    assert.equal(await detectAmbientToken({ env: NO_CI }), undefined);
    await rejectsCode(getIdentityToken({ issuer: 'http://127.0.0.1:9', useAmbientCredentials: true, env: NO_CI }), 'BAD_INPUT', /no ambient credentials/);
    await rejectsCode(getIdentityToken({ issuer: 'http://127.0.0.1:9', env: { ...NO_CI, CI: 'true' } }), 'BAD_INPUT', /identity-token/);
  });
});

describe('keyless signing with each token source (local Sigstore + real OIDC provider)', () => {
  const local = useSigstoreWithOidc();

  async function identityOf(bundle: Awaited<ReturnType<ReturnType<typeof sigstoreSigner>['sign']>>, identity: string, issuer: string): Promise<string> {
    const v = await verifySigstoreBundle(bundle, { identity, identityProvider: issuer, trustConfig: local.svc.trustConfigPath });
    return v.signer.identity!;
  }

  it('explicit token (--identity-token) is used as is, even in CI', async () => {
    const token = fakeIdentityToken({ email: 'explicit@example.test', iss: 'https://explicit.example.test' });
    const b = await sigstoreSigner({ identityToken: token, trustConfig: local.svc.trustConfigPath, env: { ...NO_CI, CI: 'true', SIGSTORE_ID_TOKEN: fakeIdentityToken() } }).sign(Buffer.from('{}'));
    assert.equal(await identityOf(b, 'explicit@example.test', 'https://explicit.example.test'), 'explicit@example.test');
    assert.throws(() => sigstoreSigner({ identityToken: 'not-a-jwt', trustConfig: local.svc.trustConfigPath }), (e: unknown) => isModelSealError(e) && e.code === 'BAD_INPUT');
  });

  it('ambient GitHub Actions token signs with --use-ambient-credentials', async () => {
    const token = fakeIdentityToken({ email: 'ci@example.test', iss: 'https://token.actions.githubusercontent.com' });
    const gh = await endpoint(() => ({ status: 200, body: JSON.stringify({ value: token }) }));
    try {
      const env = { ...NO_CI, CI: 'true', ACTIONS_ID_TOKEN_REQUEST_URL: gh.url, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'x' };
      const b = await sigstoreSigner({ useAmbientCredentials: true, trustConfig: local.svc.trustConfigPath, env }).sign(Buffer.from('{}'));
      assert.equal(await identityOf(b, 'ci@example.test', 'https://token.actions.githubusercontent.com'), 'ci@example.test');
      // With no flag at all, a detected CI identity is used too.
      const b2 = await sigstoreSigner({ trustConfig: local.svc.trustConfigPath, env }).sign(Buffer.from('{}'));
      assert.equal(await identityOf(b2, 'ci@example.test', 'https://token.actions.githubusercontent.com'), 'ci@example.test');
    } finally {
      await gh.stop();
    }
  });

  it('browser flow: authorization code + PKCE + localhost redirect against the OIDC issuer from the signing config', async () => {
    let seenUrl = '';
    const out = new PassThrough();
    out.resume();
    const b = await sigstoreSigner({
      trustConfig: local.svc.trustConfigPath,
      env: NO_CI,
      interactive: {
        output: out,
        openUrl: async (url) => {
          seenUrl = url;
          const redirect = await local.idp.login(url, 'bob');
          assert.match(redirect, /^http:\/\/localhost:\d+\/auth\/callback\?/);
          const res = await fetch(redirect.replace('http://localhost:', 'http://127.0.0.1:'));
          assert.equal(res.status, 200);
        },
      },
    }).sign(Buffer.from('{}'));
    const u = new URL(seenUrl);
    assert.equal(u.origin, local.idp.issuer);
    assert.equal(u.searchParams.get('client_id'), 'sigstore');
    assert.equal(u.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(u.searchParams.get('code_challenge'));
    assert.equal(await identityOf(b, 'bob@example.test', local.idp.issuer), 'bob@example.test');
  });

  it('out-of-band flow (--oauth-force-oob): URL on stderr, code read from stdin; with --client-id/--client-secret', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let printed = '';
    output.on('data', (d: Buffer) => (printed += d.toString()));
    const b = await sigstoreSigner({
      trustConfig: local.svc.trustConfigPath,
      oauthForceOob: true,
      clientId: CONFIDENTIAL_CLIENT.id,
      clientSecret: CONFIDENTIAL_CLIENT.secret,
      env: NO_CI,
      interactive: {
        input,
        output,
        openUrl: async (url) => {
          const redirect = await local.idp.login(url, 'carol');
          assert.match(redirect, /^urn:ietf:wg:oauth:2\.0:oob\?/);
          input.write(`${new URL(redirect).searchParams.get('code')}\n`);
        },
      },
    }).sign(Buffer.from('{}'));
    assert.match(printed, /Go to the following link in a browser/);
    assert.match(printed, /Enter verification code/);
    assert.match(printed, new RegExp(`client_id=${CONFIDENTIAL_CLIENT.id}`));
    assert.equal(await identityOf(b, 'carol@example.test', local.idp.issuer), 'carol@example.test');
  });

  it('out-of-band flow: a wrong code or a wrong client secret fails with NETWORK', async () => {
    const run = (clientSecret: string | undefined, code: string | null) => {
      const input = new PassThrough();
      const output = new PassThrough();
      output.resume();
      return interactiveToken({
        issuer: local.idp.issuer,
        forceOob: true,
        clientId: CONFIDENTIAL_CLIENT.id,
        ...(clientSecret ? { clientSecret } : {}),
        input,
        output,
        openUrl: async (url) => {
          const redirect = await local.idp.login(url, 'dave');
          input.write(`${code ?? new URL(redirect).searchParams.get('code')}\n`);
        },
      });
    };
    await rejectsCode(run(CONFIDENTIAL_CLIENT.secret, 'not-the-code'), 'NETWORK', /token exchange/);
    await rejectsCode(run('wrong-secret', null), 'NETWORK', /token exchange/);
    const ok = await run(CONFIDENTIAL_CLIENT.secret, null);
    assert.equal(decodeJwtClaims(ok)['email'], 'dave@example.test');
  });

  it('browser flow: an unreachable issuer fails with NETWORK', async () => {
    await rejectsCode(interactiveToken({ issuer: 'http://127.0.0.1:9', httpTimeoutMs: 2000, openUrl: () => undefined }), 'NETWORK', /discovery/);
  });
});
