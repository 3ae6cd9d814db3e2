/**
 * An in-process stand-in for the IdP's HTTP endpoints, for unit tests only (the browser
 * tests run against the real server): discovery, JWKS with a real RSA key, the token
 * endpoint with rotating refresh tokens, and whatever API routes a test adds.
 */
import { base64url } from '../../src/internal/pkce';

export const ISSUER = 'https://idp.test';
export const CLIENT_ID = 'app-1';

export interface Key {
  kid: string;
  privateKey: CryptoKey;
  jwk: JsonWebKey & { kid: string };
}

export async function rsaKey(kid = 'k1'): Promise<Key> {
  const pair = (await crypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  )) as CryptoKeyPair;
  const jwk = (await crypto.subtle.exportKey('jwk', pair.publicKey)) as JsonWebKey;
  return { kid, privateKey: pair.privateKey, jwk: { kty: 'RSA', n: jwk.n, e: jwk.e, kid, use: 'sig', alg: 'RS256' } as JsonWebKey & { kid: string } };
}

const enc = (value: unknown) => base64url(new TextEncoder().encode(JSON.stringify(value)));

export async function signJwt(key: Key, claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const head = enc({ alg: 'RS256', typ: 'JWT', kid: key.kid, ...header });
  const body = enc(claims);
  const signature = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key.privateKey, new TextEncoder().encode(`${head}.${body}`));
  return `${head}.${body}.${base64url(new Uint8Array(signature))}`;
}

export function idClaims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { iss: ISSUER, sub: 'user-1', aud: CLIENT_ID, iat: now, exp: now + 600, email: 'ada@example.com', ...extra };
}

type Handler = (request: { method: string; url: URL; body: URLSearchParams | unknown; headers: Headers }) => Response | Promise<Response>;

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

export class FakeIdp {
  readonly calls: Array<{ method: string; path: string; body: unknown }> = [];
  readonly routes = new Map<string, Handler>();
  /** Live refresh tokens (rotated on use; a used one is refused with invalid_grant). */
  readonly live = new Set<string>();
  readonly used = new Set<string>();
  private counter = 0;
  tokenDelayMs = 0;

  constructor(readonly key: Key) {
    this.routes.set('GET /.well-known/openid-configuration', () =>
      json({
        issuer: ISSUER,
        authorization_endpoint: `${ISSUER}/oauth/authorize`,
        token_endpoint: `${ISSUER}/oauth/token`,
        jwks_uri: `${ISSUER}/.well-known/jwks.json`,
        revocation_endpoint: `${ISSUER}/oauth/revoke`,
        end_session_endpoint: `${ISSUER}/oauth/logout`,
      }),
    );
    this.routes.set('GET /.well-known/jwks.json', () => json({ keys: [this.key.jwk] }));
    this.routes.set('POST /oauth/revoke', () => new Response(null, { status: 200 }));
    this.routes.set('POST /oauth/token', (request) => this.token(request.body as URLSearchParams));
  }

  /** A refresh token the server will accept. */
  issueRefreshToken(): string {
    const token = `rt-${++this.counter}`;
    this.live.add(token);
    return token;
  }

  private async token(form: URLSearchParams): Promise<Response> {
    if (this.tokenDelayMs) await new Promise((r) => setTimeout(r, this.tokenDelayMs));
    if (form.get('grant_type') === 'refresh_token') {
      const presented = form.get('refresh_token') ?? '';
      if (!this.live.has(presented)) {
        if (this.used.has(presented)) this.reuse += 1;
        return json({ error: 'invalid_grant', error_description: 'refresh token not valid' }, 400);
      }
      this.live.delete(presented);
      this.used.add(presented);
      return json({ access_token: `at-${++this.counter}`, token_type: 'Bearer', expires_in: 600, refresh_token: this.issueRefreshToken(), scope: 'openid offline_access' });
    }
    if (form.get('grant_type') === 'authorization_code') {
      const id_token = await signJwt(this.key, idClaims({ nonce: this.nextNonce }));
      return json({ access_token: `at-${++this.counter}`, token_type: 'Bearer', expires_in: 600, refresh_token: this.issueRefreshToken(), id_token });
    }
    return json({ error: 'unsupported_grant_type' }, 400);
  }

  reuse = 0;
  nextNonce: string | undefined;

  readonly fetch = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(String(input));
    const method = (init.method ?? 'GET').toUpperCase();
    const headers = new Headers(init.headers);
    let body: unknown = init.body ?? null;
    if (typeof body === 'string') {
      body = headers.get('Content-Type')?.includes('json') ? JSON.parse(body) : new URLSearchParams(body);
    }
    this.calls.push({ method, path: url.pathname, body });
    const handler = this.routes.get(`${method} ${url.pathname}`);
    if (!handler) return json({ error: 'not_found' }, 404);
    return handler({ method, url, body, headers });
  };

  paths(): string[] {
    return this.calls.map((c) => `${c.method} ${c.path}`);
  }
}
