/**
 * Test PKI minted with the openssl CLI (independent of the code under test). Keys are made with
 * node:crypto; certificates with `openssl req` + `openssl x509 -req` and explicit extensions.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Minted {
  /** PEM certificate. */
  cert: string;
  /** PEM PKCS#8 private key. */
  key: string;
}

export type Curve = 'prime256v1' | 'secp384r1' | 'secp521r1';

export function ecKeyPem(curve: Curve = 'prime256v1'): string {
  return generateKeyPairSync('ec', { namedCurve: curve }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
}

export function rsaKeyPem(): string {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
}

let serial = 1000;

/**
 * Mints a certificate for `subject` (e.g. `/CN=leaf`), self-signed when `issuer` is absent.
 * `extensions` are openssl v3 config lines, e.g. `basicConstraints=critical,CA:TRUE`.
 */
export function mint(options: { subject: string; issuer?: Minted; key?: string; days?: number; extensions: string[] }): Minted {
  const dir = mkdtempSync(join(tmpdir(), 'modelseal-pki-'));
  try {
    const key = options.key ?? ecKeyPem();
    const file = (name: string, content: string): string => {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    };
    const keyPath = file('key.pem', key);
    const config = file('req.cnf', '[req]\ndistinguished_name=dn\nprompt=no\n[dn]\n');
    const extPath = file('ext.cnf', `[v3]\n${options.extensions.join('\n')}\n`);
    const csrPath = join(dir, 'req.csr');
    const certPath = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-new', '-key', keyPath, '-subj', options.subject, '-config', config, '-out', csrPath], { stdio: 'pipe' });
    const signing = options.issuer
      ? ['-CA', file('ca.pem', options.issuer.cert), '-CAkey', file('ca-key.pem', options.issuer.key)]
      : ['-signkey', keyPath];
    execFileSync(
      'openssl',
      ['x509', '-req', '-in', csrPath, ...signing, '-days', String(options.days ?? 3650), '-set_serial', String(serial++),
        '-extfile', extPath, '-extensions', 'v3', '-sha256', '-out', certPath],
      { stdio: 'pipe' },
    );
    return { cert: readFileSync(certPath, 'utf8'), key };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const CA_EXTENSIONS = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'];
export const LEAF_EXTENSIONS = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=codeSigning'];

/** root → intermediate → leaf, all P-256 unless a leaf key is given. */
export function makeChain(leafOptions: { key?: string; extensions?: string[]; days?: number } = {}): { root: Minted; intermediate: Minted; leaf: Minted } {
  const root = mint({ subject: '/CN=test-root', extensions: CA_EXTENSIONS });
  const intermediate = mint({ subject: '/CN=test-intermediate', issuer: root, extensions: CA_EXTENSIONS });
  const leaf = mint({
    subject: '/CN=ml-team',
    issuer: intermediate,
    extensions: leafOptions.extensions ?? LEAF_EXTENSIONS,
    ...(leafOptions.key !== undefined ? { key: leafOptions.key } : {}),
    ...(leafOptions.days !== undefined ? { days: leafOptions.days } : {}),
  });
  return { root, intermediate, leaf };
}
