import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isModelSealError } from '../src/errors.js';
import {
  loadClientTrustConfig,
  oidcIssuerFromSigningConfig,
  packageRoot,
  resolveSigningConfig,
  resolveTrustedRoot,
  selectService,
  shippedTrustFile,
} from '../src/trust/index.js';
import { PROJECT_ROOT } from './helpers/paths.js';
import { fakeIdentityToken, startLocalSigstore, startLocalTufRepo } from './helpers/sigstore-services.js';
import { sigstoreSigner } from '../src/signing/sigstore.js';
import { verifySigstoreBundle } from '../src/verifying/sigstore.js';

const require = createRequire(import.meta.url);
const tmp = mkdtempSync(join(tmpdir(), 'modelseal-trust-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('shipped trust material', () => {
  it('is found from compiled code at any depth (package root with trust/)', () => {
    assert.equal(packageRoot(), PROJECT_ROOT);
    assert.ok(existsSync(shippedTrustFile('public-good/trusted_root.json')));
  });

  it("the shipped public-good trusted root (and TUF root) equal @sigstore/tuf's seeds", () => {
    const seedsPath = require.resolve('@sigstore/tuf/seeds.json');
    const seeds = JSON.parse(readFileSync(seedsPath, 'utf8'))['https://tuf-repo-cdn.sigstore.dev'];
    const seedRoot = JSON.parse(Buffer.from(seeds.targets['trusted_root.json'], 'base64').toString('utf8'));
    assert.deepEqual(JSON.parse(readFileSync(shippedTrustFile('public-good/trusted_root.json'), 'utf8')), seedRoot);
    assert.deepEqual(JSON.parse(readFileSync(shippedTrustFile('public-good/tuf-root.json'), 'utf8')), JSON.parse(Buffer.from(seeds['root.json'], 'base64').toString('utf8')));
  });

  it('the shipped signing configs name the public-good and staging services', () => {
    const pg = resolveSigningConfig({}).config;
    assert.equal(selectService(pg.caUrls, 1), 'https://fulcio.sigstore.dev');
    assert.equal(selectService(pg.rekorTlogUrls, 2), 'https://rekor.sigstore.dev');
    assert.equal(selectService(pg.tsaUrls, 1), 'https://timestamp.sigstore.dev/api/v1/timestamp');
    assert.equal(oidcIssuerFromSigningConfig(pg), 'https://oauth2.sigstore.dev/auth');
    const st = resolveSigningConfig({ useStaging: true }).config;
    assert.equal(selectService(st.caUrls, 1), 'https://fulcio.sigstage.dev');
    assert.equal(oidcIssuerFromSigningConfig(st), 'https://oauth2.sigstage.dev/auth');
  });
});

describe('choosing trust', () => {
  const cfgPath = join(tmp, 'trust_config.json');
  const signingConfig = {
    mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json',
    caUrls: [
      { url: 'https://old-ca.test', majorApiVersion: 1, validFor: { start: '2020-01-01T00:00:00Z', end: '2021-01-01T00:00:00Z' } },
      { url: 'https://ca.test', majorApiVersion: 1, validFor: { start: '2022-01-01T00:00:00Z' } },
      { url: 'https://future-api-ca.test', majorApiVersion: 9, validFor: { start: '2023-01-01T00:00:00Z' } },
    ],
    oidcUrls: [{ url: 'https://idp.test', majorApiVersion: 1, validFor: { start: '2022-01-01T00:00:00Z' } }],
    rekorTlogUrls: [{ url: 'https://log.test', majorApiVersion: 1, validFor: { start: '2022-01-01T00:00:00Z' } }],
    tsaUrls: [],
    rekorTlogConfig: { selector: 'ANY' },
  };
  const trustedRoot = JSON.parse(readFileSync(shippedTrustFile('public-good/trusted_root.json'), 'utf8'));
  writeFileSync(cfgPath, JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.clienttrustconfig.v0.1+json', trustedRoot, signingConfig }));

  it('picks the newest valid service with a supported API version', () => {
    const { config, description } = resolveSigningConfig({ trustConfig: cfgPath });
    assert.equal(selectService(config.caUrls, 1), 'https://ca.test');
    assert.equal(oidcIssuerFromSigningConfig(config), 'https://idp.test');
    assert.match(description, /trust config/);
  });

  it('a listed TSA or log without a selector is used (selector ANY)', () => {
    const p = join(tmp, 'noselector.json');
    const sc = { ...signingConfig, tsaUrls: [{ url: 'https://tsa.test/api/v1/timestamp', majorApiVersion: 1, validFor: { start: '2022-01-01T00:00:00Z' } }] } as Record<string, unknown>;
    delete sc['rekorTlogConfig'];
    writeFileSync(p, JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.clienttrustconfig.v0.1+json', trustedRoot, signingConfig: sc }));
    const { config } = resolveSigningConfig({ trustConfig: p });
    assert.ok(config.tsaConfig && config.rekorTlogConfig);
  });

  it('verification: trust config wins over staging; signing: staging wins over trust config (as the reference)', async () => {
    const v = await resolveTrustedRoot({ trustConfig: cfgPath, useStaging: true, tufRefresh: false });
    assert.match(v.description, /trust config/);
    assert.match(resolveSigningConfig({ trustConfig: cfgPath, useStaging: true }).description, /staging/);
  });

  it('rejects malformed trust configs with BAD_INPUT', () => {
    const bad = join(tmp, 'bad.json');
    for (const text of ['nope', '{"mediaType":"application/json","trustedRoot":{},"signingConfig":{}}', '{"signingConfig":{}}']) {
      writeFileSync(bad, text);
      assert.throws(() => loadClientTrustConfig(bad), (e: unknown) => isModelSealError(e) && e.code === 'BAD_INPUT');
    }
  });

  it('offline: shipped root without a cache, the cached TUF root when there is one, and says which', async () => {
    const cacheDir = join(tmp, 'cache');
    const shipped = await resolveTrustedRoot({ tufRefresh: false, cacheDir });
    assert.match(shipped.description, /^shipped public-good root \(TUF refresh disabled\)/);
    mkdirSync(join(cacheDir, 'public-good'), { recursive: true });
    writeFileSync(join(cacheDir, 'public-good', 'trusted_root.json'), JSON.stringify({ fetchedAt: '2026-01-02T03:04:05.000Z', trustedRoot: JSON.parse(readFileSync(shippedTrustFile('public-good/trusted_root.json'), 'utf8')) }));
    const cached = await resolveTrustedRoot({ tufRefresh: false, cacheDir });
    assert.match(cached.description, /^cached public-good root from TUF \(fetched 2026-01-02T03:04:05.000Z/);
    assert.equal(cached.root.tlogs.length, shipped.root.tlogs.length);
  });

  it('offline: a cached root that another account could have written is ignored for the shipped one', async () => {
    const cacheDir = join(tmp, 'cache-shared');
    const cachedPath = join(cacheDir, 'public-good', 'trusted_root.json');
    mkdirSync(join(cacheDir, 'public-good'), { recursive: true });
    // Anyone who could write this file could add a CA of their own to it.
    const forged = JSON.parse(readFileSync(shippedTrustFile('public-good/trusted_root.json'), 'utf8')) as { certificateAuthorities: unknown[] };
    forged.certificateAuthorities.push(forged.certificateAuthorities[0]);
    writeFileSync(cachedPath, JSON.stringify({ fetchedAt: '2026-01-02T03:04:05.000Z', trustedRoot: forged }));
    chmodSync(cachedPath, 0o664);
    const r = await resolveTrustedRoot({ tufRefresh: false, cacheDir });
    assert.match(r.description, /^shipped public-good root \(TUF refresh disabled; cached root ignored: .* is writable by group or others\)$/);
    assert.equal(r.root.certificateAuthorities.length, forged.certificateAuthorities.length - 1);
    if (process.getuid?.() === 0) {
      chmodSync(cachedPath, 0o644);
      chownSync(cachedPath, 4242, 4242);
      const other = await resolveTrustedRoot({ tufRefresh: false, cacheDir });
      assert.match(other.description, /cached root ignored: .* is owned by uid 4242\)$/);
      assert.equal(other.root.certificateAuthorities.length, forged.certificateAuthorities.length - 1);
    }
  });

  it('a TUF refresh that cannot reach the network is bounded and falls back (offline machine)', async () => {
    const started = Date.now();
    const r = await resolveTrustedRoot({ cacheDir: join(tmp, 'cache2'), tufTimeoutMs: 3000 });
    assert.ok(Date.now() - started < 6000);
    // Offline this is the shipped root with the reason; online it is a refreshed root.
    assert.match(r.description, /^(shipped public-good root \(TUF refresh failed|public-good root refreshed through TUF)/);
  });

  it('staging has no shipped trusted root: offline it says to use --trust-config', async () => {
    await assert.rejects(resolveTrustedRoot({ useStaging: true, tufRefresh: false, cacheDir: join(tmp, 'cache3') }), (e: unknown) => isModelSealError(e) && e.code === 'UNSUPPORTED' && /trust-config/.test(e.message));
  });
});

describe('TUF refresh and cache (a private Sigstore TUF repository on 127.0.0.1)', () => {
  it('refreshes the trusted root through TUF, caches it, and uses the cache when the repository is gone', async () => {
    const svc = await startLocalSigstore({ tsa: false });
    const tuf = await startLocalTufRepo(svc.trustConfig.trustedRoot);
    const cacheDir = join(tmp, 'tuf-cache');
    try {
      const bundle = await sigstoreSigner({ identityToken: fakeIdentityToken(), trustConfig: svc.trustConfigPath }).sign(Buffer.from('{}'));
      // The client keeps its own copy of the initial root: it outlives the repository below.
      const tufRootPath = join(tmp, 'tuf-initial-root.json');
      copyFileSync(tuf.rootPath, tufRootPath);
      const opts = { identity: 'alice@example.test', identityProvider: 'https://issuer.example.test', tufMirrorURL: tuf.url, tufRootPath, cacheDir };
      const fresh = await verifySigstoreBundle(bundle, opts);
      assert.equal(fresh.signer.trustRoot, `root refreshed through TUF ${tuf.url}`);
      assert.ok(tuf.hits.includes('/timestamp.json') && tuf.hits.includes('/targets/trusted_root.json'), tuf.hits.join(' '));
      await tuf.stop();
      const offline = await verifySigstoreBundle(bundle, { ...opts, tufTimeoutMs: 2000 });
      assert.match(offline.signer.trustRoot!, new RegExp(`^cached root from TUF ${tuf.url.replace(/\./g, '\\.')} \\(fetched .*TUF refresh failed`));
      // Nothing cached and no repository: a clear NETWORK error, never a silent fallback to public-good.
      await assert.rejects(verifySigstoreBundle(bundle, { ...opts, cacheDir: join(tmp, 'empty-cache'), tufTimeoutMs: 2000 }), (e: unknown) => isModelSealError(e) && e.code === 'NETWORK');
    } finally {
      await tuf.stop();
      await svc.stop();
    }
  });

  it('a TUF repository signed with keys the client does not trust is refused (NETWORK, nothing cached)', async () => {
    const svc = await startLocalSigstore({ tsa: false });
    const tuf = await startLocalTufRepo(svc.trustConfig.trustedRoot);
    try {
      // Trust a different initial root: the repository's signatures no longer verify.
      const other = await startLocalTufRepo({});
      try {
        const r = resolveTrustedRoot({ tufMirrorURL: tuf.url, tufRootPath: other.rootPath, cacheDir: join(tmp, 'tuf-cache-2'), tufTimeoutMs: 2000 });
        await assert.rejects(r, (e: unknown) => isModelSealError(e) && e.code === 'NETWORK' && /TUF refresh failed/.test(e.message));
      } finally {
        await other.stop();
      }
    } finally {
      await tuf.stop();
      await svc.stop();
    }
  });

  it('a different initial TUF root is not overridden by what an earlier root cached for the same mirror', async () => {
    const svc = await startLocalSigstore({ tsa: false });
    const tuf = await startLocalTufRepo(svc.trustConfig.trustedRoot);
    const other = await startLocalTufRepo({});
    const cacheDir = join(tmp, 'tuf-cache-shared');
    try {
      const trusted = await resolveTrustedRoot({ tufMirrorURL: tuf.url, tufRootPath: tuf.rootPath, cacheDir, tufTimeoutMs: 2000 });
      assert.equal(trusted.description, `root refreshed through TUF ${tuf.url}`);
      // Same cache, same mirror, but the caller now trusts another root: neither the TUF metadata
      // nor the trusted root cached under the first root may stand in for it.
      const r = resolveTrustedRoot({ tufMirrorURL: tuf.url, tufRootPath: other.rootPath, cacheDir, tufTimeoutMs: 2000 });
      await assert.rejects(r, (e: unknown) => isModelSealError(e) && e.code === 'NETWORK' && /TUF refresh failed/.test(e.message));
    } finally {
      await other.stop();
      await tuf.stop();
      await svc.stop();
    }
  });
});
