/**
 * ID-token validation (OIDC Core 3.1.3.7): RS256 signature against the issuer's JWKS,
 * then `iss`, `aud`, `azp`, `nonce`, `exp` and `iat`.  The algorithm is never taken from
 * the token: only RS256 is accepted.  The JWKS is cached; an unknown `kid` refetches it,
 * at most once per cooldown (panva/jose's remote JWKS rules).
 */
import { SDKError } from '../errors';
import { base64urlDecode } from './pkce';

export interface JWK {
  kty: string;
  kid?: string;
  use?: string;
  alg?: string;
  n?: string;
  e?: string;
}

export interface IdTokenClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  nonce?: string;
  azp?: string;
  auth_time?: number;
  email?: string;
  email_verified?: boolean;
  name?: string;
  [claim: string]: unknown;
}

function invalid(message: string): SDKError {
  return new SDKError('invalid_id_token', message);
}

export function decodeJwt(token: string): { header: Record<string, unknown>; claims: Record<string, unknown>; signed: Uint8Array; signature: Uint8Array } {
  const parts = token.split('.');
  if (parts.length !== 3) throw invalid('the ID token is not a JWS compact serialization');
  try {
    const decoder = new TextDecoder();
    const header = JSON.parse(decoder.decode(base64urlDecode(parts[0]!)));
    const claims = JSON.parse(decoder.decode(base64urlDecode(parts[1]!)));
    if (!header || typeof header !== 'object' || !claims || typeof claims !== 'object') throw new TypeError();
    return {
      header,
      claims,
      signed: new TextEncoder().encode(`${parts[0]}.${parts[1]}`),
      signature: base64urlDecode(parts[2]!),
    };
  } catch {
    throw invalid('the ID token cannot be decoded');
  }
}

export class RemoteJWKS {
  private keys: JWK[] = [];
  private fetchedAt = 0;
  private pending: Promise<void> | null = null;

  constructor(
    private readonly url: string,
    private readonly fetcher: () => Promise<{ keys: JWK[] }>,
    private readonly cooldownMs = 30_000,
    private readonly maxAgeMs = 600_000,
  ) {}

  /** The RSA key with `kid`, refetching once when it is unknown and the cooldown allows. */
  async get(kid: string | undefined): Promise<JWK> {
    const now = Date.now();
    if (!this.fetchedAt || now - this.fetchedAt > this.maxAgeMs) await this.reload();
    let key = this.find(kid);
    if (!key && Date.now() - this.fetchedAt >= this.cooldownMs) {
      await this.reload();
      key = this.find(kid);
    }
    if (!key) throw invalid(`no key ${kid ?? '(none)'} in ${this.url}`);
    return key;
  }

  private find(kid: string | undefined): JWK | undefined {
    const rsa = this.keys.filter((k) => k.kty === 'RSA' && (k.use === undefined || k.use === 'sig'));
    return kid === undefined ? (rsa.length === 1 ? rsa[0] : undefined) : rsa.find((k) => k.kid === kid);
  }

  private reload(): Promise<void> {
    this.pending ??= this.fetcher()
      .then((jwks) => {
        this.keys = Array.isArray(jwks?.keys) ? jwks.keys : [];
        this.fetchedAt = Date.now();
      })
      .finally(() => {
        this.pending = null;
      });
    return this.pending;
  }
}

export interface IdTokenExpectations {
  issuer: string;
  clientId: string;
  nonce: string | undefined;
  /** Seconds of clock skew tolerated (the server's own leeway is 30 s). */
  leewaySeconds?: number;
  now?: number;
}

/** Verify the signature, then the claims; returns the claims. */
export async function verifyIdToken(token: string, jwks: RemoteJWKS, expected: IdTokenExpectations): Promise<IdTokenClaims> {
  const { header, claims, signed, signature } = decodeJwt(token);
  if (header.alg !== 'RS256') throw invalid('the ID token is not signed with RS256');
  const jwk = await jwks.get(typeof header.kid === 'string' ? header.kid : undefined);
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey(
      'jwk',
      { kty: 'RSA', n: jwk.n, e: jwk.e, alg: 'RS256', ext: true },
      { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      false,
      ['verify'],
    );
  } catch {
    throw invalid('the signing key cannot be used');
  }
  const ok = await crypto.subtle.verify('RSASSA-PKCS1-v1_5', key, signature as BufferSource, signed as BufferSource);
  if (!ok) throw invalid('the ID token signature is invalid');
  checkClaims(claims, expected);
  return claims as unknown as IdTokenClaims;
}

/** OIDC Core 3.1.3.7 steps 2-3 and 9-11. */
export function checkClaims(claims: Record<string, unknown>, expected: IdTokenExpectations): void {
  const leeway = expected.leewaySeconds ?? 30;
  const now = expected.now ?? Math.floor(Date.now() / 1000);
  if (claims.iss !== expected.issuer) throw invalid('the ID token was issued by someone else (iss)');
  const aud = claims.aud;
  const audiences = Array.isArray(aud) ? aud : [aud];
  if (!audiences.includes(expected.clientId)) throw invalid('the ID token is for another app (aud)');
  if (audiences.length > 1 && claims.azp !== expected.clientId) throw invalid('the ID token names another authorized party (azp)');
  if (typeof claims.sub !== 'string' || !claims.sub) throw invalid('the ID token has no subject');
  if (typeof claims.exp !== 'number' || claims.exp + leeway < now) throw invalid('the ID token has expired (exp)');
  if (typeof claims.iat !== 'number' || claims.iat - leeway > now) throw invalid('the ID token was issued in the future (iat)');
  if (expected.nonce !== undefined && claims.nonce !== expected.nonce) throw invalid('the ID token answers another request (nonce)');
}
