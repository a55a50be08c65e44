/**
 * ECDSA verification over a precomputed digest (node:crypto always hashes its input itself).
 * Needed for plain Sigstore bundles over a file, where only the file's SHA-256 is at hand.
 * Public data only (verification), so plain BigInt arithmetic is fine.
 */
import type { KeyObject } from 'node:crypto';
import { ASN1Obj } from '@sigstore/core';

interface Curve {
  p: bigint;
  a: bigint;
  n: bigint;
  gx: bigint;
  gy: bigint;
}

const h = (s: string): bigint => BigInt('0x' + s);

const CURVES: Record<string, Curve> = {
  'P-256': {
    p: h('ffffffff00000001000000000000000000000000ffffffffffffffffffffffff'),
    a: h('ffffffff00000001000000000000000000000000fffffffffffffffffffffffc'),
    n: h('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551'),
    gx: h('6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296'),
    gy: h('4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5'),
  },
  'P-384': {
    p: h('fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff'),
    a: h('fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000fffffffc'),
    n: h('ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973'),
    gx: h('aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7'),
    gy: h('3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f'),
  },
};

type Point = [bigint, bigint] | null;

const mod = (x: bigint, m: bigint): bigint => ((x % m) + m) % m;

function inv(x: bigint, m: bigint): bigint {
  let [a, b, u, v] = [mod(x, m), m, 1n, 0n];
  while (a !== 0n) {
    const q = b / a;
    [a, b] = [b - q * a, a];
    [u, v] = [v - q * u, u];
  }
  if (b !== 1n) throw new Error('not invertible');
  return mod(v, m);
}

function add(c: Curve, P: Point, Q: Point): Point {
  if (!P) return Q;
  if (!Q) return P;
  const [x1, y1] = P;
  const [x2, y2] = Q;
  let l: bigint;
  if (x1 === x2) {
    if (mod(y1 + y2, c.p) === 0n) return null;
    l = mod((3n * x1 * x1 + c.a) * inv(2n * y1, c.p), c.p);
  } else {
    l = mod((y2 - y1) * inv(x2 - x1, c.p), c.p);
  }
  const x3 = mod(l * l - x1 - x2, c.p);
  return [x3, mod(l * (x1 - x3) - y1, c.p)];
}

function mul(c: Curve, k: bigint, P: Point): Point {
  let R: Point = null;
  let A = P;
  while (k > 0n) {
    if (k & 1n) R = add(c, R, A);
    A = add(c, A, A);
    k >>= 1n;
  }
  return R;
}

const fromB64u = (s: string): bigint => h(Buffer.from(s, 'base64url').toString('hex') || '0');

/** Verify a DER ECDSA signature over `digest` with an EC public key (P-256 or P-384). */
export function verifyEcdsaPrehashed(key: KeyObject, digest: Buffer, derSignature: Buffer): boolean {
  const jwk = key.export({ format: 'jwk' });
  const c = jwk.crv ? CURVES[jwk.crv] : undefined;
  if (!c || !jwk.x || !jwk.y) throw new Error(`unsupported key for prehashed ECDSA: ${jwk.kty}/${jwk.crv ?? '?'}`);
  let r: bigint;
  let s: bigint;
  try {
    const seq = ASN1Obj.parseBuffer(derSignature as Buffer<ArrayBuffer>);
    if (seq.subs.length !== 2) return false;
    r = seq.subs[0]!.toInteger();
    s = seq.subs[1]!.toInteger();
  } catch {
    return false;
  }
  if (r <= 0n || r >= c.n || s <= 0n || s >= c.n) return false;
  const nBits = c.n.toString(2).length;
  let e = h(digest.toString('hex') || '0');
  const dBits = digest.length * 8;
  if (dBits > nBits) e >>= BigInt(dBits - nBits);
  const w = inv(s, c.n);
  const Q: Point = [fromB64u(jwk.x), fromB64u(jwk.y)];
  const X = add(c, mul(c, mod(e * w, c.n), [c.gx, c.gy]), mul(c, mod(r * w, c.n), Q));
  if (!X) return false;
  return mod(X[0], c.n) === r;
}
