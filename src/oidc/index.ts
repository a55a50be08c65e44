/**
 * Getting an OIDC identity token for Sigstore keyless signing:
 * - explicit (`--identity-token`),
 * - ambient CI credentials (GitHub Actions, GitLab CI, Buildkite, Google Cloud),
 * - interactive: authorization code + PKCE with a localhost redirect (browser), or out-of-band
 *   (print the URL, read the code pasted back).
 * All network calls are bounded by timeouts; failures are NETWORK errors.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fail, ModelSealError } from '../errors.js';

export const SIGSTORE_AUDIENCE = 'sigstore';
export const DEFAULT_CLIENT_ID = 'sigstore';
export const OOB_REDIRECT_URI = 'urn:ietf:wg:oauth:2.0:oob';
const DEFAULT_HTTP_TIMEOUT_MS = 10_000;

export type Env = Record<string, string | undefined>;

async function fetchBounded(url: string, init: RequestInit, timeoutMs: number, what: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    throw fail('NETWORK', `${what}: ${url}: ${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message}`, { cause: e });
  }
  if (!res.ok) {
    const body = await res.text().catch(() => '');
    throw fail('NETWORK', `${what}: ${url} answered HTTP ${res.status}${body ? `: ${body.slice(0, 200)}` : ''}`);
  }
  return res;
}

/** Decode (without verifying: Fulcio does that) a JWT's claims. */
export function decodeJwtClaims(token: string): Record<string, unknown> {
  const parts = token.split('.');
  if (parts.length !== 3) throw fail('BAD_INPUT', 'the identity token is not a JWT');
  try {
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as unknown;
    if (typeof claims !== 'object' || claims === null) throw new Error('not an object');
    return claims as Record<string, unknown>;
  } catch (e) {
    throw fail('BAD_INPUT', `the identity token's claims are not JSON: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Ambient credentials

export interface AmbientOptions {
  audience?: string;
  env?: Env;
  timeoutMs?: number;
}

export interface AmbientToken {
  provider: 'github-actions' | 'gitlab' | 'buildkite' | 'gcp' | 'env';
  token: string;
}

/** GitHub Actions: the job's token-request URL (needs `permissions: id-token: write`). */
async function githubToken(env: Env, audience: string, timeoutMs: number): Promise<string | undefined> {
  const url = env['ACTIONS_ID_TOKEN_REQUEST_URL'];
  const bearer = env['ACTIONS_ID_TOKEN_REQUEST_TOKEN'];
  if (!url && !bearer) return undefined;
  if (!url || !bearer) {
    throw fail('NETWORK', 'GitHub Actions: ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN incomplete; does the workflow have `permissions: id-token: write`?');
  }
  const u = new URL(url);
  u.searchParams.set('audience', audience);
  const res = await fetchBounded(u.href, { headers: { Accept: 'application/json', Authorization: `Bearer ${bearer}` } }, timeoutMs, 'GitHub Actions OIDC token request');
  const body = (await res.json().catch(() => ({}))) as { value?: unknown };
  if (typeof body.value !== 'string' || !body.value) throw fail('NETWORK', 'GitHub Actions OIDC token response has no "value"');
  return body.value;
}

/** Buildkite: `buildkite-agent oidc request-token --audience sigstore`. */
function buildkiteToken(env: Env, audience: string, timeoutMs: number): Promise<string | undefined> {
  if (env['BUILDKITE'] !== 'true') return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    execFile(
      'buildkite-agent',
      ['oidc', 'request-token', '--audience', audience],
      { timeout: timeoutMs, env: env as NodeJS.ProcessEnv, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) reject(fail('NETWORK', `Buildkite: buildkite-agent oidc request-token failed: ${stderr.trim() || err.message}`, { cause: err }));
        else if (!stdout.trim()) reject(fail('NETWORK', 'Buildkite: buildkite-agent returned no token'));
        else resolve(stdout.trim());
      },
    );
  });
}

function onGoogleCloud(env: Env): boolean {
  if (env['GCE_METADATA_HOST']) return true;
  try {
    return /Google/.test(readFileSync('/sys/class/dmi/id/product_name', 'utf8'));
  } catch {
    return false;
  }
}

/** Google Cloud: the metadata server's identity endpoint for the default service account. */
async function gcpToken(env: Env, audience: string, timeoutMs: number): Promise<string | undefined> {
  if (!onGoogleCloud(env)) return undefined;
  const host = env['GCE_METADATA_HOST'] || 'metadata.google.internal';
  const url = `http://${host}/computeMetadata/v1/instance/service-accounts/default/identity?audience=${encodeURIComponent(audience)}&format=full`;
  const res = await fetchBounded(url, { headers: { 'Metadata-Flavor': 'Google' } }, timeoutMs, 'Google Cloud metadata identity request');
  const token = (await res.text()).trim();
  if (!token) throw fail('NETWORK', 'Google Cloud metadata server returned no identity token');
  return token;
}

/**
 * The CI workload's identity token, or undefined when no supported CI environment is detected.
 * Order: SIGSTORE_ID_TOKEN (GitLab `id_tokens:` and any CI that sets it), GitHub Actions,
 * Buildkite, Google Cloud.
 */
export async function detectAmbientToken(options: AmbientOptions = {}): Promise<AmbientToken | undefined> {
  const env = options.env ?? process.env;
  const audience = options.audience ?? SIGSTORE_AUDIENCE;
  const timeoutMs = options.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  const direct = env['SIGSTORE_ID_TOKEN'];
  if (direct) return { provider: env['GITLAB_CI'] === 'true' ? 'gitlab' : 'env', token: direct.trim() };
  if (env['GITLAB_CI'] === 'true') {
    throw fail('BAD_INPUT', 'GitLab CI: no SIGSTORE_ID_TOKEN; add `id_tokens: { SIGSTORE_ID_TOKEN: { aud: sigstore } }` to the job');
  }
  const gh = await githubToken(env, audience, timeoutMs);
  if (gh) return { provider: 'github-actions', token: gh };
  const bk = await buildkiteToken(env, audience, timeoutMs);
  if (bk) return { provider: 'buildkite', token: bk };
  const gcp = await gcpToken(env, audience, Math.min(timeoutMs, 5000));
  if (gcp) return { provider: 'gcp', token: gcp };
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Interactive OAuth (authorization code + PKCE)

export interface InteractiveOptions {
  /** The issuer (discovery base URL), e.g. https://oauth2.sigstore.dev/auth. */
  issuer: string;
  clientId?: string;
  clientSecret?: string;
  /** Out-of-band: print the URL, read the code from `input`. */
  forceOob?: boolean;
  /** Called with the authorization URL (default: print it and try to open a browser). */
  openUrl?: (url: string) => void | Promise<void>;
  /** Where prompts go (default process.stderr) and where the OOB code is read (default process.stdin). */
  output?: Writable;
  input?: Readable;
  /** Whole-flow bound (default 5 minutes). */
  timeoutMs?: number;
  httpTimeoutMs?: number;
}

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
}

export async function discover(issuer: string, timeoutMs = DEFAULT_HTTP_TIMEOUT_MS): Promise<Discovery> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const res = await fetchBounded(url, { headers: { Accept: 'application/json' } }, timeoutMs, 'OIDC discovery');
  const d = (await res.json().catch(() => ({}))) as Partial<Discovery>;
  if (typeof d.authorization_endpoint !== 'string' || typeof d.token_endpoint !== 'string') {
    throw fail('NETWORK', `OIDC discovery at ${url} lacks authorization_endpoint/token_endpoint`);
  }
  return { authorization_endpoint: d.authorization_endpoint, token_endpoint: d.token_endpoint };
}

function openInBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    const child = spawn(cmd, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    /* the URL is printed anyway */
  }
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : port);
    });
  });
}

function readLine(input: Readable, output: Writable, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input, terminal: false });
    output.write(prompt);
    let done = false;
    rl.once('line', (line) => {
      done = true;
      rl.close();
      resolve(line.trim());
    });
    rl.once('close', () => {
      if (!done) reject(fail('BAD_INPUT', 'no authorization code was entered'));
    });
  });
}

/** Run the interactive login and return the ID token. */
export async function interactiveToken(options: InteractiveOptions): Promise<string> {
  const clientId = options.clientId || DEFAULT_CLIENT_ID;
  const clientSecret = options.clientSecret ?? '';
  const output = options.output ?? process.stderr;
  const httpTimeout = options.httpTimeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  const d = await discover(options.issuer, httpTimeout);
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const state = randomBytes(16).toString('base64url');
  const nonce = randomBytes(16).toString('base64url');

  const servers: Server[] = [];
  let redirectUri: string;
  let codePromise: Promise<string>;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(fail('NETWORK', 'the OIDC login did not complete in time')), options.timeoutMs ?? 300_000);
    timer.unref();
  });

  try {
    if (options.forceOob) {
      redirectUri = OOB_REDIRECT_URI;
      codePromise = Promise.resolve(''); // read after printing the URL
    } else {
      let resolveCode!: (c: string) => void;
      let rejectCode!: (e: unknown) => void;
      codePromise = new Promise<string>((res, rej) => {
        resolveCode = res;
        rejectCode = rej;
      });
      const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void => {
        const u = new URL(req.url ?? '/', 'http://localhost');
        if (u.pathname !== '/auth/callback') {
          res.writeHead(404).end();
          return;
        }
        const err = u.searchParams.get('error');
        const code = u.searchParams.get('code');
        if (u.searchParams.get('state') !== state) {
          res.writeHead(400, { 'content-type': 'text/plain' }).end('state mismatch');
          rejectCode(fail('NETWORK', 'the OIDC redirect carried the wrong state'));
          return;
        }
        if (err || !code) {
          res.writeHead(400, { 'content-type': 'text/plain' }).end(`login failed: ${err ?? 'no code'}`);
          rejectCode(fail('NETWORK', `the OIDC login failed: ${err ?? 'no code'} ${u.searchParams.get('error_description') ?? ''}`.trim()));
          return;
        }
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>modelseal: login complete, you can close this page.</body></html>');
        resolveCode(code);
      };
      const v4 = createServer(handler);
      servers.push(v4);
      const port = await listen(v4, '127.0.0.1', 0);
      const v6 = createServer(handler);
      try {
        await listen(v6, '::1', port);
        servers.push(v6);
      } catch {
        /* no IPv6 loopback: localhost resolves to 127.0.0.1 */
      }
      redirectUri = `http://localhost:${port}/auth/callback`;
    }

    const auth = new URL(d.authorization_endpoint);
    auth.searchParams.set('response_type', 'code');
    auth.searchParams.set('client_id', clientId);
    auth.searchParams.set('redirect_uri', redirectUri);
    auth.searchParams.set('scope', 'openid email');
    auth.searchParams.set('state', state);
    auth.searchParams.set('nonce', nonce);
    auth.searchParams.set('code_challenge', challenge);
    auth.searchParams.set('code_challenge_method', 'S256');

    let code: string;
    if (options.forceOob) {
      output.write(`Go to the following link in a browser:\n\n    ${auth.href}\n\n`);
      if (options.openUrl) await options.openUrl(auth.href);
      code = await Promise.race([readLine(options.input ?? process.stdin, output, 'Enter verification code: '), timeout]);
      if (!code) throw fail('BAD_INPUT', 'no authorization code was entered');
    } else {
      output.write(`Waiting for browser interaction...\nIf no browser opens, visit:\n\n    ${auth.href}\n\n`);
      if (options.openUrl) await options.openUrl(auth.href);
      else openInBrowser(auth.href);
      code = await Promise.race([codePromise, timeout]);
    }

    const form = new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
      client_id: clientId,
    });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (clientSecret) {
      headers['authorization'] = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
    }
    const res = await fetchBounded(d.token_endpoint, { method: 'POST', headers, body: form.toString() }, httpTimeout, 'OIDC token exchange');
    const body = (await res.json().catch(() => ({}))) as { id_token?: unknown };
    if (typeof body.id_token !== 'string') throw fail('NETWORK', 'the OIDC token response has no id_token');
    const claims = decodeJwtClaims(body.id_token);
    if (claims['nonce'] !== nonce) throw fail('NETWORK', 'the ID token carries the wrong nonce');
    return body.id_token;
  } catch (e) {
    if (e instanceof ModelSealError) throw e;
    throw fail('NETWORK', `OIDC login failed: ${(e as Error).message}`, { cause: e });
  } finally {
    clearTimeout(timer);
    for (const s of servers) s.close();
  }
}

// ---------------------------------------------------------------------------------------------

export interface TokenOptions {
  identityToken?: string;
  useAmbientCredentials?: boolean;
  oauthForceOob?: boolean;
  clientId?: string;
  clientSecret?: string;
  /** The OIDC issuer for interactive flows (from the signing config). */
  issuer: string;
  env?: Env;
  interactive?: Omit<InteractiveOptions, 'issuer' | 'clientId' | 'clientSecret' | 'forceOob'>;
}

/**
 * The token, in the order the reference uses: explicit token; ambient credentials (required when
 * `useAmbientCredentials`, otherwise tried when a CI environment is detected); interactive login.
 */
export async function getIdentityToken(o: TokenOptions): Promise<string> {
  if (o.identityToken) return o.identityToken.trim();
  const ambient = await detectAmbientToken(o.env ? { env: o.env } : {});
  if (ambient) return ambient.token;
  if (o.useAmbientCredentials) {
    throw fail('BAD_INPUT', 'no ambient credentials found (supported: GitHub Actions, GitLab CI SIGSTORE_ID_TOKEN, Buildkite, Google Cloud)');
  }
  const env = o.env ?? process.env;
  if (!o.interactive?.openUrl && env['CI'] && env['CI'] !== 'false' && !o.oauthForceOob) {
    throw fail('BAD_INPUT', 'running in CI without an identity token: pass --identity-token or grant the job an OIDC token (see docs/sigstore.md)');
  }
  const io: InteractiveOptions = { ...(o.interactive ?? {}), issuer: o.issuer };
  if (o.clientId) io.clientId = o.clientId;
  if (o.clientSecret) io.clientSecret = o.clientSecret;
  if (o.oauthForceOob) io.forceOob = true;
  return interactiveToken(io);
}
