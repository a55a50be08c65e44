/**
 * Streaming hashers for the three OMS algorithms.
 *
 * SHA-256 and BLAKE2b-512 come from node:crypto (OpenSSL, SHA-NI): wasm SHA-256 is 7x slower and a native
 * BLAKE2b is only +14 %, which does not pay for a native dependency. BLAKE3 is not in OpenSSL, so it
 * comes from the optional native `@napi-rs/blake-hash` (prebuilt, ~4 GB/s per core) and falls back to
 * `hash-wasm` (pure wasm, ~6x slower) where the native package is missing (unsupported platform,
 * `--omit=optional`). See /work/shared/notes/hashing-performance.md §6.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { HashAlgorithm } from '../manifest/types.js';
import { fail } from '../errors.js';

export interface Hasher {
  update(buf: Uint8Array): void;
  /** Lower-case hex. A hasher is finished after digest(). */
  digest(): string;
}

/** Makes a fresh hasher per job; synchronous once created, so the per-thread read loop never awaits. */
export type HasherFactory = () => Hasher;

export type Blake3Backend = 'native' | 'wasm';

interface NativeBlake3 {
  update(input: Buffer): unknown;
  digest(format?: string): string;
}
type NativeBlake3Ctor = new () => NativeBlake3;

let nativeBlake3: NativeBlake3Ctor | null | undefined;

/**
 * The native BLAKE3 class, or null when it cannot be loaded. `MODELSEAL_BLAKE3=wasm` forces the fallback
 * (used by the tests to cover the wasm path on machines that have the native package).
 */
function loadNativeBlake3(): NativeBlake3Ctor | null {
  if (nativeBlake3 !== undefined) return nativeBlake3;
  nativeBlake3 = null;
  if (process.env['MODELSEAL_BLAKE3'] !== 'wasm') {
    try {
      // createRequire: the package is CommonJS with a platform-specific .node binding chosen at load time.
      const mod = createRequire(import.meta.url)('@napi-rs/blake-hash') as { Blake3Hasher?: NativeBlake3Ctor };
      if (typeof mod.Blake3Hasher === 'function') nativeBlake3 = mod.Blake3Hasher;
    } catch {
      // Optional dependency absent or no binary for this platform: use the wasm fallback.
    }
  }
  return nativeBlake3;
}

/** Which BLAKE3 implementation this process uses. */
export function blake3Backend(): Blake3Backend {
  return loadNativeBlake3() ? 'native' : 'wasm';
}

function nodeCryptoFactory(name: 'sha256' | 'blake2b512'): HasherFactory {
  return () => {
    const h = createHash(name);
    return {
      update: (buf) => void h.update(buf),
      digest: () => h.digest('hex'),
    };
  };
}

/**
 * A factory of hashers for `algorithm`. Async only because the wasm fallback must be instantiated;
 * the instance is then reused (re-initialised) for every job of the calling thread, which is why a
 * factory's hashers must be used one after another, never interleaved.
 */
export async function hasherFactory(algorithm: HashAlgorithm): Promise<HasherFactory> {
  switch (algorithm) {
    case 'sha256':
      return nodeCryptoFactory('sha256');
    case 'blake2b':
      return nodeCryptoFactory('blake2b512');
    case 'blake3': {
      const Native = loadNativeBlake3();
      if (Native) {
        return () => {
          const h = new Native();
          return {
            update: (buf) => void h.update(buf as Buffer),
            digest: () => h.digest('hex'),
          };
        };
      }
      const { createBLAKE3 } = await import('hash-wasm');
      const wasm = await createBLAKE3();
      return () => {
        wasm.init();
        return {
          update: (buf) => void wasm.update(buf),
          digest: () => wasm.digest('hex'),
        };
      };
    }
    default:
      throw fail('USAGE', `unknown hash algorithm '${String(algorithm)}'`);
  }
}

/**
 * One streaming hasher. Async because the BLAKE3 wasm fallback is async to create; each call gets its
 * own instance, so hashers from createHasher may be used concurrently.
 */
export async function createHasher(algorithm: HashAlgorithm): Promise<Hasher> {
  return (await hasherFactory(algorithm))();
}
