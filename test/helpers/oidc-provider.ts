/**
 * A real OpenID Provider (`oidc-provider`) on 127.0.0.1 for the interactive-login tests, with
 * the development login/consent interactions, and a scripted "user" that logs in over HTTP.
 * TEST CODE ONLY.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
// @ts-ignore -- oidc-provider ships no type declarations
import Provider from 'oidc-provider';

export interface LocalOidcProvider {
  issuer: string;
  /** Log in as `account` starting from an authorization URL; returns the final redirect URL. */
  login(authorizationUrl: string, account: string): Promise<string>;
  stop(): Promise<void>;
}

export const CONFIDENTIAL_CLIENT = { id: 'modelseal-private', secret: 'a-client-secret' };

class CookieJar {
  private jar = new Map<string, string>();
  store(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(c)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }
  header(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

export async function startOidcProvider(): Promise<LocalOidcProvider> {
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const redirectUris = ['http://localhost/auth/callback', 'http://127.0.0.1/auth/callback', 'urn:ietf:wg:oauth:2.0:oob'];
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'sigstore',
        token_endpoint_auth_method: 'none',
        application_type: 'native',
        redirect_uris: redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
      {
        client_id: CONFIDENTIAL_CLIENT.id,
        client_secret: CONFIDENTIAL_CLIENT.secret,
        token_endpoint_auth_method: 'client_secret_basic',
        application_type: 'native',
        redirect_uris: redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    async findAccount(_ctx: unknown, id: string) {
      return { accountId: id, claims: async () => ({ sub: id, email: `${id}@example.test`, email_verified: true }) };
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['modelseal-test-cookie-key'] },
      ttl: {
      Interaction: 600,
      Session: 600,
      Grant: 600,
      AccessToken: 600,
      IdToken: 600,
      AuthorizationCode: 60,
    },
  });
  // Keep the provider quiet in test output.
  provider.on('server_error', () => undefined);
  server.on('request', provider.callback());

  async function login(authorizationUrl: string, account: string): Promise<string> {
    const jar = new CookieJar();
    let url = authorizationUrl;
    for (let step = 0; step < 12; step++) {
      if (!url.startsWith(issuer)) return url; // left the provider: the client's redirect
      const res = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header() } });
      jar.store(res);
      if (res.status >= 300 && res.status < 400) {
        url = new URL(res.headers.get('location')!, url).href;
        continue;
      }
      const html = await res.text();
      if (res.status !== 200) throw new Error(`OIDC provider answered ${res.status} at ${url}: ${html.slice(0, 300)}`);
      const prompt = /name="prompt" value="(login|consent)"/.exec(html)?.[1];
      if (!prompt) throw new Error(`unexpected OIDC page at ${url}: ${html.slice(0, 300)}`);
      const form = new URLSearchParams({ prompt, ...(prompt === 'login' ? { login: account, password: 'any' } : {}) });
      const post = await fetch(url, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      });
      jar.store(post);
      if (post.status < 300 || post.status >= 400) throw new Error(`login POST answered ${post.status}: ${(await post.text()).slice(0, 300)}`);
      url = new URL(post.headers.get('location')!, url).href;
    }
    throw new Error('too many steps in the OIDC login');
  }

  return {
    issuer,
    login,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
