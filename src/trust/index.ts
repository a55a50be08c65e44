/**
 * Where Sigstore trust comes from: the trusted root (CAs, logs, TSAs to verify against) and the
 * signing config (which CA / log / TSA / OIDC issuer to sign with).
 *
 * - `trustConfig` (a Sigstore ClientTrustConfig JSON file) names a private Sigstore.
 * - Otherwise public-good (or staging with `useStaging`). The public-good trusted root ships in
 *   `trust/public-good/` and is refreshed through TUF when the network allows, with the result
 *   cached; offline, the cached root (if any, and only this user could have written it) or the
 *   shipped one is used, and the caller is told which.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClientTrustConfig, ServiceSelector, SigningConfig, TrustedRoot } from '@sigstore/protobuf-specs';
import { getTrustedRoot } from '@sigstore/tuf';
import { writeFileAtomic } from '../api.js';
import { modelsealCacheDir } from '../cache-dir.js';
import { fail, fsErrorText } from '../errors.js';

export const CLIENT_TRUST_CONFIG_MEDIA_TYPE = 'application/vnd.dev.sigstore.clienttrustconfig.v0.1+json';
export const PUBLIC_GOOD_TUF_URL = 'https://tuf-repo-cdn.sigstore.dev';
export const STAGING_TUF_URL = 'https://tuf-repo-cdn.sigstage.dev';

/** Default bound on a TUF refresh (all metadata fetches together). */
export const DEFAULT_TUF_TIMEOUT_MS = 5000;

export interface TrustOptions {
  useStaging?: boolean;
  /** Path to a ClientTrustConfig JSON. */
  trustConfig?: string;
  /**
   * Refresh the trusted root through TUF (public-good/staging only). Default true, unless the
   * environment sets MODELSEAL_OFFLINE=1. Failures fall back to the cached or shipped root.
   */
  tufRefresh?: boolean;
  /** TUF/trusted-root cache directory (default $XDG_CACHE_HOME/modelseal or ~/.cache/modelseal). */
  cacheDir?: string;
  /** Bound on the TUF refresh in milliseconds (default 5000). */
  tufTimeoutMs?: number;
  /**
   * A private Sigstore's TUF repository serving `trusted_root.json`, with its initial (trusted)
   * TUF root.json at `tufRootPath`. Used instead of public-good/staging when no trustConfig is given.
   */
  tufMirrorURL?: string;
  tufRootPath?: string;
}

export interface ResolvedTrustedRoot {
  root: TrustedRoot;
  /** Human-readable provenance, e.g. "shipped public-good root (TUF refresh failed: ...)". */
  description: string;
}

export interface ResolvedSigningConfig {
  config: SigningConfig;
  description: string;
}

let packageRootCache: string | undefined;

/** The directory holding modelseal's package.json (compiled code lives at several depths). */
export function packageRoot(): string {
  if (packageRootCache) return packageRootCache;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'trust'))) return (packageRootCache = dir);
    const up = dirname(dir);
    if (up === dir) throw fail('BAD_INPUT', 'cannot find the modelseal package root (with trust/) above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** Path of a file shipped in trust/ (e.g. `public-good/trusted_root.json`). */
export function shippedTrustFile(name: string): string {
  return join(packageRoot(), 'trust', name);
}

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw fail('BAD_INPUT', `cannot read ${what} '${path}': ${fsErrorText(e)}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw fail('BAD_INPUT', `${what} '${path}' is not JSON: ${(e as Error).message}`);
  }
}

/** The shipped trusted root as JSON (public-good only: staging is not shipped, see docs). */
export function shippedTrustedRootJSON(instance: 'public-good' | 'staging' = 'public-good'): unknown {
  const path = shippedTrustFile(`${instance}/trusted_root.json`);
  if (!existsSync(path)) {
    throw fail('UNSUPPORTED', `no ${instance} trusted root ships with this build and TUF could not provide one; pass --trust-config with a ClientTrustConfig`);
  }
  return readJson(path, 'trusted root');
}

export interface ClientTrustConfigJSON {
  mediaType?: string;
  trustedRoot: Record<string, unknown>;
  signingConfig: Record<string, unknown>;
}

/** Read and check a ClientTrustConfig file. Throws BAD_INPUT with one sentence. */
export function loadClientTrustConfig(path: string): { json: ClientTrustConfigJSON; parsed: ClientTrustConfig } {
  const json = readJson(path, 'trust config') as ClientTrustConfigJSON;
  if (typeof json !== 'object' || json === null) throw fail('BAD_INPUT', `trust config '${path}' is not a JSON object`);
  if (json.mediaType !== undefined && json.mediaType !== CLIENT_TRUST_CONFIG_MEDIA_TYPE) {
    throw fail('BAD_INPUT', `trust config '${path}' has media type ${JSON.stringify(json.mediaType)}, expected ${CLIENT_TRUST_CONFIG_MEDIA_TYPE}`);
  }
  if (typeof json.trustedRoot !== 'object' || json.trustedRoot === null) throw fail('BAD_INPUT', `trust config '${path}' has no trustedRoot`);
  if (typeof json.signingConfig !== 'object' || json.signingConfig === null) throw fail('BAD_INPUT', `trust config '${path}' has no signingConfig`);
  let parsed: ClientTrustConfig;
  try {
    parsed = ClientTrustConfig.fromJSON(json);
  } catch (e) {
    throw fail('BAD_INPUT', `trust config '${path}' is malformed: ${(e as Error).message}`);
  }
  return { json, parsed };
}

function offlineByEnv(): boolean {
  const v = process.env['MODELSEAL_OFFLINE'];
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function parseRoot(json: unknown, what: string): TrustedRoot {
  try {
    return TrustedRoot.fromJSON(json);
  } catch (e) {
    throw fail('BAD_INPUT', `${what} is malformed: ${(e as Error).message}`);
  }
}

/**
 * Why a cached trusted root must not be used, if someone other than this user could have written
 * it. The cache is an unsigned copy (it is what is used when TUF cannot refresh), so a root written
 * by another account, e.g. into a shared XDG_CACHE_HOME, could add a CA or log of its choosing.
 */
function cacheWritableByOthers(path: string): string | undefined {
  if (typeof process.getuid !== 'function') return undefined; // Windows: no POSIX owner or mode
  let st;
  try {
    st = statSync(path);
  } catch {
    return undefined; // absent or unreadable: the reader below falls through to the shipped root
  }
  if (st.uid !== process.getuid()) return `${path} is owned by uid ${st.uid}`;
  if (st.mode & 0o022) return `${path} is writable by group or others`;
  return undefined;
}

/**
 * The cache subdirectory of a private TUF mirror, per initial root: @sigstore/tuf seeds its cache
 * with the initial root.json only when none is cached, so without this a mirror cached under one
 * initial root would keep being trusted (refreshed or offline) after the caller names another.
 */
function initialRootKey(tufRootPath: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(tufRootPath);
  } catch (e) {
    throw fail('BAD_INPUT', `cannot read the TUF root '${tufRootPath}': ${fsErrorText(e)}`);
  }
  return 'root-' + createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

/**
 * The trusted root for verification. `trustConfig` wins over `useStaging` (as the reference).
 */
export async function resolveTrustedRoot(options: TrustOptions = {}): Promise<ResolvedTrustedRoot> {
  if (options.trustConfig) {
    const { json } = loadClientTrustConfig(options.trustConfig);
    return { root: parseRoot(json.trustedRoot, `trusted root in '${options.trustConfig}'`), description: `trust config ${options.trustConfig}` };
  }
  const custom = options.tufMirrorURL !== undefined;
  if (custom && !options.tufRootPath) throw fail('USAGE', 'a TUF mirror needs its initial root.json (tufRootPath)');
  const instance = custom ? 'custom' : options.useStaging ? 'staging' : 'public-good';
  const mirrorURL = custom ? options.tufMirrorURL!.replace(/\/+$/, '') : options.useStaging ? STAGING_TUF_URL : PUBLIC_GOOD_TUF_URL;
  const base = options.cacheDir || modelsealCacheDir();
  const cacheDir = custom ? join(base, 'custom', encodeURIComponent(mirrorURL), initialRootKey(options.tufRootPath!)) : join(base, instance);
  const label = custom ? `TUF ${mirrorURL}` : instance;
  const cachedRootPath = join(cacheDir, 'trusted_root.json');
  const refresh = options.tufRefresh ?? !offlineByEnv();
  let why = 'TUF refresh disabled';
  if (refresh) {
    try {
      const tufRootPath = custom ? options.tufRootPath! : shippedTrustFile(`${instance}/tuf-root.json`);
      if (!custom && !existsSync(tufRootPath)) throw new Error(`no ${instance} TUF root ships with this build`);
      const root = await withTimeout(
        getTrustedRoot({
          mirrorURL,
          cachePath: join(cacheDir, 'tuf'),
          // The default mirror is seeded by @sigstore/tuf itself; pass our copy for others.
          ...(instance === 'public-good' ? {} : { rootPath: tufRootPath }),
          timeout: Math.min(options.tufTimeoutMs ?? DEFAULT_TUF_TIMEOUT_MS, 5000),
          retry: false,
        }),
        options.tufTimeoutMs ?? DEFAULT_TUF_TIMEOUT_MS,
        'TUF refresh',
      );
      try {
        mkdirSync(cacheDir, { recursive: true });
        // A fresh temp name opened exclusively (no file planted under a predictable name is
        // followed), mode 0644 (which cacheWritableByOthers requires of it).
        writeFileAtomic(cachedRootPath, JSON.stringify({ fetchedAt: new Date().toISOString(), trustedRoot: TrustedRoot.toJSON(root) }));
      } catch {
        /* caching is best effort */
      }
      return { root, description: custom ? `root refreshed through ${label}` : `${instance} root refreshed through TUF (${mirrorURL})` };
    } catch (e) {
      why = `TUF refresh failed: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  const distrust = cacheWritableByOthers(cachedRootPath);
  if (distrust) why += `; cached root ignored: ${distrust}`;
  else if (existsSync(cachedRootPath)) {
    try {
      const cached = JSON.parse(readFileSync(cachedRootPath, 'utf8')) as { fetchedAt?: string; trustedRoot: unknown };
      const root = TrustedRoot.fromJSON(cached.trustedRoot);
      return { root, description: `cached ${custom ? 'root from ' + label : instance + ' root from TUF'} (fetched ${cached.fetchedAt ?? 'at an unknown time'}; ${why})` };
    } catch {
      /* unreadable cache: fall through to the shipped root */
    }
  }
  if (custom) throw fail('NETWORK', `no trusted root: ${why}, and nothing cached from ${mirrorURL}`);
  const json = shippedTrustedRootJSON(instance === 'staging' ? 'staging' : 'public-good');
  return { root: parseRoot(json, `shipped ${instance} trusted root`), description: `shipped ${instance} root (${why})` };
}

/** The signing config. For signing `useStaging` wins over `trustConfig` (as the reference). */
export function resolveSigningConfig(options: TrustOptions = {}): ResolvedSigningConfig {
  let json: unknown;
  let description: string;
  if (options.useStaging) {
    json = readJson(shippedTrustFile('staging/signing_config.json'), 'signing config');
    description = 'shipped staging signing config';
  } else if (options.trustConfig) {
    json = loadClientTrustConfig(options.trustConfig).json.signingConfig;
    description = `trust config ${options.trustConfig}`;
  } else {
    json = readJson(shippedTrustFile('public-good/signing_config.json'), 'signing config');
    description = 'shipped public-good signing config';
  }
  let config: SigningConfig;
  try {
    config = SigningConfig.fromJSON(json);
  } catch (e) {
    throw fail('BAD_INPUT', `${description}: signing config is malformed: ${(e as Error).message}`);
  }
  // A listed log or TSA without a selector means "use one of them" (sigstore-js would skip it).
  if (config.rekorTlogUrls.length && !config.rekorTlogConfig) config.rekorTlogConfig = { selector: ServiceSelector.ANY, count: 0 };
  if (config.tsaUrls.length && !config.tsaConfig) config.tsaConfig = { selector: ServiceSelector.ANY, count: 0 };
  return { config, description };
}

/**
 * Pick one service the way the Sigstore clients do: API version <= max, valid now, newest start.
 * Returns undefined if none fits.
 */
export function selectService(services: SigningConfig['caUrls'], maxApiVersion: number, now = new Date()): string | undefined {
  const ok = services
    .filter((s) => s.majorApiVersion <= maxApiVersion)
    .filter((s) => (!s.validFor?.start || s.validFor.start <= now) && (!s.validFor?.end || s.validFor.end >= now))
    .sort((a, b) => (b.validFor?.start?.getTime() ?? 0) - (a.validFor?.start?.getTime() ?? 0));
  return ok[0]?.url;
}

/** The OIDC issuer (discovery base URL) a signing config names. */
export function oidcIssuerFromSigningConfig(config: SigningConfig): string {
  const url = selectService(config.oidcUrls, 1);
  if (!url) throw fail('BAD_INPUT', 'the signing config lists no usable OIDC issuer (oidcUrls)');
  return url;
}
