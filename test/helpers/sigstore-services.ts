/**
 * A local Sigstore for tests: Fulcio (with CT log), Rekor v1 and an RFC 3161 TSA from
 * @sigstore/mock, served by node:http on 127.0.0.1 (port 0), plus the ClientTrustConfig that
 * points at them. TEST CODE ONLY: @sigstore/mock loads nock, which patches http globally.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fulcioHandler, initializeCA, initializeCTLog, initializeTLog, initializeTSA, rekorHandler, rekorV2Handler, tsaHandler } from '@sigstore/mock';
import { DSSERequestV002, HashedRekordRequestV002 } from '@sigstore/protobuf-specs/rekor/v2';
import { after, before } from 'node:test';
import { startOidcProvider, type LocalOidcProvider } from './oidc-provider.js';

type Handler = ReturnType<typeof rekorHandler>;

export interface LocalSigstore {
  url: string;
  /** Path of a ClientTrustConfig JSON naming these services (and `oidcIssuer` if given). */
  trustConfigPath: string;
  trustConfig: { mediaType: string; trustedRoot: Record<string, unknown>; signingConfig: Record<string, unknown> };
  /** Requests seen, by path (e.g. '/api/v2/signingCert'). */
  hits: Record<string, number>;
  /** Make the next N requests to a path fail with HTTP 500 (to test retries / NETWORK errors). */
  failNext(path: string, times: number): void;
  dir: string;
  stop(): Promise<void>;
}

export interface LocalSigstoreOptions {
  /** OIDC issuer listed in the signing config (default: a URL nothing listens on). */
  oidcIssuer?: string;
  /** List the TSA in the signing config (default true). */
  tsa?: boolean;
  /** List the log as a Rekor v2 service (entries dsse/hashedrekord 0.0.2, no SET). Default v1. */
  rekorV2?: boolean;
  /**
   * Rekor v2 only: log DSSE signatures as `hashedrekord` 0.0.2 over SHA-256(PAE), as
   * sigstore-python does, instead of `dsse` 0.0.2.
   */
  rekorV2DsseAsHashedRekord?: boolean;
}

const b64 = (b: ArrayBufferView | Buffer): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/**
 * Real Rekor v2 logs the canonical Entry ({kind, apiVersion, spec: {dsseV002 | hashedRekordV002}});
 * the mock logs the request verbatim, so turn the request into the entry first.
 */
function v2RequestToEntry(req: { spec?: { $case: string; [k: string]: unknown } }, dsseAsHashedRekord: boolean): object {
  const spec = req.spec;
  if (spec?.$case === 'dsseRequestV002') {
    const r = DSSERequestV002.toJSON(spec['dsseRequestV002'] as never) as { envelope: { payload: string; payloadType: string; signatures: { sig: string }[] }; verifiers: unknown[] };
    if (dsseAsHashedRekord) {
      const body = Buffer.from(r.envelope.payload, 'base64');
      const pae = Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(r.envelope.payloadType)} ${r.envelope.payloadType} ${body.length} `), body]);
      return {
        kind: 'hashedrekord',
        apiVersion: '0.0.2',
        spec: {
          hashedRekordV002: {
            data: { algorithm: 'SHA2_256', digest: createHash('sha256').update(pae).digest('base64') },
            signature: { content: r.envelope.signatures[0]!.sig, verifier: r.verifiers[0] },
          },
        },
      };
    }
    return {
      kind: 'dsse',
      apiVersion: '0.0.2',
      spec: {
        dsseV002: {
          payloadHash: { algorithm: 'SHA2_256', digest: createHash('sha256').update(Buffer.from(r.envelope.payload, 'base64')).digest('base64') },
          signatures: r.envelope.signatures.map((s, i) => ({ content: s.sig, verifier: r.verifiers[i] ?? r.verifiers[0] })),
        },
      },
    };
  }
  if (spec?.$case === 'hashedRekordRequestV002') {
    const r = HashedRekordRequestV002.toJSON(spec['hashedRekordRequestV002'] as never) as { digest: string; signature: unknown };
    return { kind: 'hashedrekord', apiVersion: '0.0.2', spec: { hashedRekordV002: { data: { algorithm: 'SHA2_256', digest: r.digest }, signature: r.signature } } };
  }
  return req;
}

/** Real Rekor turns a proposed dsse entry into its canonical body; the mock stores it verbatim. */
function dsseProposedToCanonical(e: Record<string, unknown>): object {
  const spec = e['spec'] as { proposedContent?: { envelope: string; verifiers: string[] } } | undefined;
  if (e['kind'] !== 'dsse' || !spec?.proposedContent) return e;
  const { envelope, verifiers } = spec.proposedContent;
  const env = JSON.parse(envelope) as { payload: string; signatures: { sig: string }[] };
  return {
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      envelopeHash: { algorithm: 'sha256', value: sha256(envelope) },
      payloadHash: { algorithm: 'sha256', value: sha256(Buffer.from(env.payload, 'base64')) },
      signatures: env.signatures.map((s, i) => ({ signature: s.sig, verifier: verifiers[i] ?? verifiers[0] })),
    },
  };
}

export async function startLocalSigstore(options: LocalSigstoreOptions = {}): Promise<LocalSigstore> {
  const handlers: Handler[] = [];
  const hits: Record<string, number> = {};
  const failures: Record<string, number> = {};
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      hits[path] = (hits[path] ?? 0) + 1;
      if ((failures[path] ?? 0) > 0) {
        failures[path]!--;
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"injected failure"}');
        return;
      }
      const h = handlers.find((x) => x.path === path);
      if (!h) {
        res.writeHead(404).end();
        return;
      }
      h.fn(Buffer.concat(chunks).toString('utf8')).then(
        (r) => {
          res.writeHead(r.statusCode, { 'content-type': r.contentType ?? 'application/json' });
          res.end(typeof r.response === 'string' ? r.response : Buffer.from(r.response.buffer, r.response.byteOffset, r.response.byteLength));
        },
        (e: unknown) => res.writeHead(500).end(String(e)),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const host = `127.0.0.1:${port}`;
  const url = `http://${host}`;

  // The mock exports these keys to JWK. On Node 20, exporting a key to JWK while the garbage
  // collector destroys the job that generated it deadlocks the process (seen: main thread in
  // ExportJWKEcKey -> GC -> ~KeyGenJob waiting on the key's mutex). Keys re-imported from PEM
  // share nothing with their generation job.
  const generated = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const kp = {
    privateKey: createPrivateKey(generated.privateKey.export({ type: 'pkcs8', format: 'pem' })),
    publicKey: createPublicKey(generated.publicKey.export({ type: 'spki', format: 'pem' })),
  };
  // One clock on a whole second for every service: the mock TSA writes GeneralizedTime fractions
  // with trailing zeros stripped (".5Z"), which @sigstore/core's parser rejects (it wants 3 digits).
  // The services keep this Date object and read it on every request, so it is set after the CA and
  // TSA certificates exist (their notBefore is the real time of creation): the next whole second
  // after that, so every timestamp falls inside their validity.
  const clock = new Date(0);
  const ctlog = await initializeCTLog(kp, clock);
  const ca = await initializeCA(kp, ctlog, clock);
  const tlog = await initializeTLog(url, kp, clock);
  const tsa = await initializeTSA(kp, clock);
  clock.setTime((Math.floor(Date.now() / 1000) + 1) * 1000);
  const rekorLike = {
    publicKey: tlog.publicKey,
    log: (e: object) => tlog.log(dsseProposedToCanonical(e as Record<string, unknown>)),
    logV2: async (req: Parameters<typeof tlog.logV2>[0]) => {
      const entry = await tlog.logV2(v2RequestToEntry(req as never, options.rekorV2DsseAsHashedRekord === true) as never);
      // The mock decodes its hex root hash as base64; a one-leaf tree's root is H(0x00 || body).
      // ...and puts the random entry index into a one-leaf tree's proof.
      entry.inclusionProof!.logIndex = '0';
      entry.inclusionProof!.rootHash = createHash('sha256').update(Buffer.from([0])).update(entry.canonicalizedBody).digest();
      // The mock's v2 kind sniffing looks at the request shape; take it from the entry.
      entry.kindVersion = { kind: JSON.parse(entry.canonicalizedBody.toString('utf8')).kind, version: '0.0.2' };
      return entry;
    },
  };
  handlers.push(fulcioHandler(ca, { subjectClaim: 'email' }), rekorHandler(rekorLike), rekorV2Handler(rekorLike), tsaHandler(tsa));

  const start = new Date(Date.now() - 60_000).toISOString();
  const spki = kp.publicKey.export({ format: 'der', type: 'spki' });
  const key = { rawBytes: spki.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } };
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [{ baseUrl: url, hashAlgorithm: 'SHA2_256', publicKey: key, logId: { keyId: createHash('sha256').update(tlog.publicKey).digest('base64') } }],
    certificateAuthorities: [
      { subject: { organization: 'mock', commonName: 'mock fulcio' }, uri: url, certChain: { certificates: [{ rawBytes: b64(ca.rootCertificate) }] }, validFor: { start } },
    ],
    ctlogs: [{ baseUrl: url, hashAlgorithm: 'SHA2_256', publicKey: key, logId: { keyId: b64(ctlog.logID) } }],
    timestampAuthorities: [
      {
        subject: { organization: 'mock', commonName: 'mock tsa' },
        uri: url,
        certChain: { certificates: [{ rawBytes: b64(tsa.intCertificate) }, { rawBytes: b64(tsa.rootCertificate) }] },
        validFor: { start },
      },
    ],
  };
  const svc = (u: string) => [{ url: u, majorApiVersion: 1, validFor: { start }, operator: 'localhost' }];
  const signingConfig: Record<string, unknown> = {
    mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json',
    caUrls: svc(url),
    oidcUrls: svc(options.oidcIssuer ?? 'http://127.0.0.1:9/no-oidc-here'),
    rekorTlogUrls: [{ ...svc(url)[0]!, majorApiVersion: options.rekorV2 ? 2 : 1 }],
    tsaUrls: options.tsa === false ? [] : svc(`${url}/api/v1/timestamp`),
    rekorTlogConfig: { selector: 'ANY' },
    ...(options.tsa === false ? {} : { tsaConfig: { selector: 'ANY' } }),
  };
  const trustConfig = { mediaType: 'application/vnd.dev.sigstore.clienttrustconfig.v0.1+json', trustedRoot, signingConfig };
  const dir = mkdtempSync(join(tmpdir(), 'modelseal-sigstore-'));
  const trustConfigPath = join(dir, 'trust_config.json');
  writeFileSync(trustConfigPath, JSON.stringify(trustConfig, null, 2));
  return {
    url,
    trustConfigPath,
    trustConfig,
    hits,
    dir,
    failNext(path: string, times: number) {
      failures[path] = times;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An unsigned JWT (the mock Fulcio only decodes it), with an email identity by default. */
export function fakeIdentityToken(claims: Record<string, unknown> = {}): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc({
    iss: 'https://issuer.example.test',
    sub: 'user-123',
    aud: 'sigstore',
    email: 'alice@example.test',
    email_verified: true,
    iat: now,
    exp: now + 600,
    ...claims,
  })}.`;
}

/** OLPC/TUF canonical JSON for the plain values used here (sorted keys, no whitespace). */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export interface LocalTufRepo {
  url: string;
  /** The repository's initial root.json (what a client must trust first). */
  rootPath: string;
  hits: string[];
  stop(): Promise<void>;
}

/** A minimal TUF repository on 127.0.0.1 (one ed25519 key for all roles) serving trusted_root.json. */
export async function startLocalTufRepo(trustedRoot: unknown): Promise<LocalTufRepo> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pub = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex');
  const key = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: pub } };
  const keyid = createHash('sha256').update(canonicalJson(key)).digest('hex');
  const expires = '2099-01-01T00:00:00Z';
  const signed = (s: object) => {
    const sig = sign(null, Buffer.from(canonicalJson(s)), privateKey).toString('hex');
    return JSON.stringify({ signed: s, signatures: [{ keyid, sig }] });
  };
  const role = { keyids: [keyid], threshold: 1 };
  const target = Buffer.from(JSON.stringify(trustedRoot));
  const files: Record<string, string | Buffer> = {
    '/1.root.json': signed({
      _type: 'root',
      spec_version: '1.0.31',
      version: 1,
      expires,
      consistent_snapshot: false,
      keys: { [keyid]: key },
      roles: { root: role, targets: role, snapshot: role, timestamp: role },
    }),
    '/timestamp.json': signed({ _type: 'timestamp', spec_version: '1.0.31', version: 1, expires, meta: { 'snapshot.json': { version: 1 } } }),
    '/snapshot.json': signed({ _type: 'snapshot', spec_version: '1.0.31', version: 1, expires, meta: { 'targets.json': { version: 1 } } }),
    '/targets.json': signed({
      _type: 'targets',
      spec_version: '1.0.31',
      version: 1,
      expires,
      targets: { 'trusted_root.json': { length: target.length, hashes: { sha256: createHash('sha256').update(target).digest('hex') } } },
    }),
    '/targets/trusted_root.json': target,
  };
  const hits: string[] = [];
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    hits.push(path);
    const body = files[path];
    if (body === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const dir = mkdtempSync(join(tmpdir(), 'modelseal-tuf-'));
  const rootPath = join(dir, 'root.json');
  writeFileSync(rootPath, files['/1.root.json']!);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    rootPath,
    hits,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A local Sigstore whose signing config sends logins to a real local OIDC provider; stop() stops both. */
export async function startSigstoreWithOidc(): Promise<{ svc: LocalSigstore; idp: LocalOidcProvider; stop: () => Promise<void> }> {
  const idp = await startOidcProvider();
  const svc = await startLocalSigstore({ oidcIssuer: idp.issuer });
  return {
    svc,
    idp,
    stop: async () => {
      await svc.stop();
      await idp.stop();
    },
  };
}

/**
 * For one suite: start a local Sigstore + OIDC provider before its tests and stop both after.
 * Read `svc` / `idp` inside the tests (they exist once the suite's `before` has run).
 */
export function useSigstoreWithOidc(): { readonly svc: LocalSigstore; readonly idp: LocalOidcProvider } {
  let services: Awaited<ReturnType<typeof startSigstoreWithOidc>> | undefined;
  before(async () => {
    services = await startSigstoreWithOidc();
  });
  after(() => services?.stop());
  return {
    get svc() {
      return services!.svc;
    },
    get idp() {
      return services!.idp;
    },
  };
}
