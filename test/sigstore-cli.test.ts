/* eslint-disable @typescript-eslint/no-explicit-any */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { EXIT } from '../src/cli/exit-codes.js';
import { CLI_MAIN, MT_VECTORS } from './helpers/paths.js';
import { fakeIdentityToken, useSigstoreWithOidc } from './helpers/sigstore-services.js';

const tmp = mkdtempSync(join(tmpdir(), 'modelseal-sigstore-cli-'));
const BASE_ENV = { PATH: process.env['PATH'] ?? '', HOME: tmp, XDG_CACHE_HOME: join(tmp, 'cache'), MODELSEAL_OFFLINE: '1' };
const PG_ID = ['--identity', 'stefanb@us.ibm.com', '--identity-provider', 'https://sigstore.verify.ibm.com/oauth2'];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], opts: { env?: Record<string, string>; onStderr?: (text: string, stdin: NodeJS.WritableStream) => void } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], { env: { ...BASE_ENV, ...(opts.env ?? {}) }, cwd: tmp });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      opts.onStderr?.(stderr, child.stdin);
    });
    if (!opts.onStderr) child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

function copyVector(name: string): string {
  const dir = join(tmp, `${name}-${Math.random().toString(36).slice(2)}`);
  cpSync(join(MT_VECTORS, 'v1.0.0-sigstore'), dir, { recursive: true });
  return dir;
}

after(() => rmSync(tmp, { recursive: true, force: true }));

describe('CLI: verify the public-good vector offline', () => {
  it('succeeds with the exact identity and issuer, and --json gives the signer fields', async () => {
    const dir = copyVector('ok');
    const r = await cli(['verify', dir, '--signature', join(dir, 'model.sig'), ...PG_ID]);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.match(r.stdout, /^Verification succeeded: signed by stefanb@us\.ibm\.com \(issuer https:\/\/sigstore\.verify\.ibm\.com\/oauth2, log index 206344181, signed at 2025-05-03T01:34:46\.000Z, trust root: .*shipped public-good root.*\); 2 files verified \(sigstore, sha256\)\n$/);
    const j = await cli(['verify', 'sigstore', dir, '--signature', join(dir, 'model.sig'), ...PG_ID, '--json']);
    assert.equal(j.code, EXIT.OK, j.stderr);
    const out = JSON.parse(j.stdout);
    assert.equal(out.signer.identity, 'stefanb@us.ibm.com');
    assert.equal(out.signer.issuer, 'https://sigstore.verify.ibm.com/oauth2');
    assert.equal(out.signer.logIndex, '206344181');
    assert.equal(out.signer.signedAt, '2025-05-03T01:34:46.000Z');
    assert.match(out.signer.trustRoot, /shipped public-good root/);
  });

  it('fails with exit 5 for a wrong identity, a wrong issuer, a contained identity, a tampered bundle; 6 for a tampered model; 4 for a broken file', async () => {
    const dir = copyVector('neg');
    const sig = join(dir, 'model.sig');
    const cases: [string[], number][] = [
      [['--identity', 'alice@example.com', '--identity-provider', 'https://sigstore.verify.ibm.com/oauth2'], EXIT.UNTRUSTED],
      [['--identity', 'stefanb@us.ibm.com', '--identity-provider', 'https://accounts.google.com'], EXIT.UNTRUSTED],
      [['--identity', 'us.ibm.com', '--identity-provider', 'https://sigstore.verify.ibm.com/oauth2'], EXIT.UNTRUSTED],
      [['--identity-regex', 'stefanb', '--identity-provider', 'https://sigstore.verify.ibm.com/oauth2'], EXIT.UNTRUSTED],
    ];
    for (const [args, code] of cases) {
      const r = await cli(['verify', dir, '--signature', sig, ...args]);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    }
    const b = JSON.parse(readFileSync(sig, 'utf8'));
    const stmt = JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString('utf8'));
    stmt.predicate.resources[0].digest = '0'.repeat(64);
    b.dsseEnvelope.payload = Buffer.from(JSON.stringify(stmt)).toString('base64');
    const tampered = join(tmp, 'tampered.sig');
    writeFileSync(tampered, JSON.stringify(b));
    assert.equal((await cli(['verify', dir, '--signature', tampered, ...PG_ID])).code, EXIT.UNTRUSTED);
    writeFileSync(join(tmp, 'broken.sig'), '{"mediaType": 1');
    assert.equal((await cli(['verify', dir, '--signature', join(tmp, 'broken.sig'), ...PG_ID])).code, EXIT.BAD_BUNDLE);
    writeFileSync(join(dir, 'signme-1'), 'changed');
    const m = await cli(['verify', dir, '--signature', sig, ...PG_ID]);
    assert.equal(m.code, EXIT.CONTENT_MISMATCH, m.stderr);
  });
});

describe('CLI: keyless sign and verify against local services', () => {
  const local = useSigstoreWithOidc();

  it('signs a directory and a single file with --identity-token, verifies with --identity and --identity-regex', async () => {
    const model = join(tmp, 'm1');
    mkdirSync(model, { recursive: true });
    writeFileSync(join(model, 'a.bin'), 'aaa');
    writeFileSync(join(model, 'b.txt'), 'bbb');
    const token = fakeIdentityToken();
    const sig = join(tmp, 'm1.sig');
    const s = await cli(['sign', model, '--signature', sig, '--identity-token', token, '--trust-config', local.svc.trustConfigPath]);
    assert.equal(s.code, EXIT.OK, s.stderr);
    const trust = ['--trust-config', local.svc.trustConfigPath];
    const v = await cli(['verify', model, '--signature', sig, '--identity', 'alice@example.test', '--identity-provider', 'https://issuer.example.test', ...trust, '--json']);
    assert.equal(v.code, EXIT.OK, v.stderr);
    assert.deepEqual(JSON.parse(v.stdout).signer.timestampSources, ['timestamp-authority', 'transparency-log']);
    const re = await cli(['verify', model, '--signature', sig, '--identity-regex', '[a-z]+@example\\.test', '--identity-provider', 'https://issuer.example.test', ...trust]);
    assert.equal(re.code, EXIT.OK, re.stderr);
    const wrong = await cli(['verify', model, '--signature', sig, '--identity', 'alice@example.tes', '--identity-provider', 'https://issuer.example.test', ...trust]);
    assert.equal(wrong.code, EXIT.UNTRUSTED);

    const file = join(tmp, 'single.bin');
    writeFileSync(file, 'single file model');
    const fsig = join(tmp, 'single.sig');
    assert.equal((await cli(['sign', 'sigstore', file, '--signature', fsig, '--identity-token', token, '--trust-config', local.svc.trustConfigPath])).code, EXIT.OK);
    const fv = await cli(['verify', file, '--signature', fsig, '--identity', 'alice@example.test', '--identity-provider', 'https://issuer.example.test', ...trust]);
    assert.equal(fv.code, EXIT.OK, fv.stderr);
  });

  it('a Sigstore service failure exits 8 and writes no signature', async () => {
    const dead = JSON.parse(readFileSync(local.svc.trustConfigPath, 'utf8'));
    dead.signingConfig.rekorTlogUrls[0].url = 'http://127.0.0.1:9';
    const p = join(tmp, 'dead.json');
    writeFileSync(p, JSON.stringify(dead));
    const file = join(tmp, 'net.bin');
    writeFileSync(file, 'x');
    const sig = join(tmp, 'net.sig');
    const r = await cli(['sign', file, '--signature', sig, '--identity-token', fakeIdentityToken(), '--trust-config', p]);
    assert.equal(r.code, EXIT.NETWORK, r.stderr);
    assert.equal(existsSync(sig), false);
  });

  it('--use-ambient-credentials in a GitHub Actions-like environment', async () => {
    const token = fakeIdentityToken({ email: 'gha@example.test', iss: 'https://token.actions.githubusercontent.com' });
    const server = createServer((req, res) => {
      const ok = req.headers.authorization === 'Bearer gh-request-token' && new URL(req.url!, 'http://x').searchParams.get('audience') === 'sigstore';
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(JSON.stringify(ok ? { value: token } : {}));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const env = {
        CI: 'true',
        GITHUB_ACTIONS: 'true',
        ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'gh-request-token',
      };
      const file = join(tmp, 'gha.bin');
      writeFileSync(file, 'gha model');
      const sig = join(tmp, 'gha.sig');
      const r = await cli(['sign', file, '--signature', sig, '--use-ambient-credentials', '--trust-config', local.svc.trustConfigPath], { env });
      assert.equal(r.code, EXIT.OK, r.stderr);
      const v = await cli(['verify', file, '--signature', sig, '--identity', 'gha@example.test', '--identity-provider', 'https://token.actions.githubusercontent.com', '--trust-config', local.svc.trustConfigPath]);
      assert.equal(v.code, EXIT.OK, v.stderr);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('browser login: prints the URL, receives the code on its localhost redirect (no browser needed)', async () => {
    const file = join(tmp, 'browser.bin');
    writeFileSync(file, 'browser model');
    const sig = join(tmp, 'browser.sig');
    let started = false;
    let loginError: unknown;
    const r = await cli(['sign', file, '--signature', sig, '--trust-config', local.svc.trustConfigPath], {
      env: { PATH: '/nonexistent' /* no xdg-open: the printed URL is the way */ },
      onStderr: (text) => {
        const m = /(http:\/\/127\.0\.0\.1:\d+\/auth\?\S+)/.exec(text);
        if (!m || started) return;
        started = true;
        local.idp
          .login(m[1]!, 'frank')
          .then((redirect) => {
            assert.match(redirect, /^http:\/\/localhost:\d+\/auth\/callback\?/);
            return fetch(redirect.replace('http://localhost:', 'http://127.0.0.1:'));
          })
          .catch((e: unknown) => (loginError = e));
      },
    });
    assert.equal(loginError, undefined);
    assert.equal(r.code, EXIT.OK, r.stderr);
    const v = await cli(['verify', file, '--signature', sig, '--identity', 'frank@example.test', '--identity-provider', local.idp.issuer, '--trust-config', local.svc.trustConfigPath]);
    assert.equal(v.code, EXIT.OK, v.stderr);
  });

  it('--oauth-force-oob: prints the login URL on stderr and reads the code from stdin', async () => {
    const file = join(tmp, 'oob.bin');
    writeFileSync(file, 'oob model');
    const sig = join(tmp, 'oob.sig');
    let started = false;
    let loginError: unknown;
    const r = await cli(['sign', file, '--signature', sig, '--oauth-force-oob', '--trust-config', local.svc.trustConfigPath], {
      onStderr: (text, stdin) => {
        const m = /(http:\/\/127\.0\.0\.1:\d+\/auth\?\S+)/.exec(text);
        if (!m || started || !/Enter verification code/.test(text)) return;
        started = true;
        local.idp.login(m[1]!, 'erin').then(
          (redirect) => stdin.end(`${new URL(redirect).searchParams.get('code')}\n`),
          (e: unknown) => {
            loginError = e;
            stdin.end('\n');
          },
        );
      },
    });
    assert.equal(loginError, undefined);
    assert.equal(r.code, EXIT.OK, r.stderr);
    const v = await cli(['verify', file, '--signature', sig, '--identity', 'erin@example.test', '--identity-provider', local.idp.issuer, '--trust-config', local.svc.trustConfigPath]);
    assert.equal(v.code, EXIT.OK, v.stderr);
  });
});
