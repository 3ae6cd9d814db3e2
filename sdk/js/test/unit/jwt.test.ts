import { beforeAll, describe, expect, it, vi } from 'vitest';
import { SDKError } from '../../src/errors';
import { RemoteJWKS, verifyIdToken } from '../../src/internal/jwt';
import { base64url } from '../../src/internal/pkce';
import { CLIENT_ID, ISSUER, idClaims, rsaKey, signJwt, type Key } from './fake-idp';

let key: Key;
let other: Key;
beforeAll(async () => {
  key = await rsaKey('k1');
  other = await rsaKey('k2');
});

const expected = { issuer: ISSUER, clientId: CLIENT_ID, nonce: 'n-1' };
const jwksOf = (...keys: Key[]) => new RemoteJWKS(`${ISSUER}/jwks`, async () => ({ keys: keys.map((k) => k.jwk) }));

async function rejection(token: string, jwks = jwksOf(key), expect_ = expected): Promise<SDKError> {
  try {
    await verifyIdToken(token, jwks, expect_);
  } catch (error) {
    return error as SDKError;
  }
  throw new Error('the token was accepted');
}

describe('ID-token validation', () => {
  it('accepts a token signed by the published key with the expected claims', async () => {
    const claims = await verifyIdToken(await signJwt(key, idClaims({ nonce: 'n-1' })), jwksOf(key), expected);
    expect(claims.sub).toBe('user-1');
    expect(claims.email).toBe('ada@example.com');
  });

  it.each([
    ['iss', { iss: 'https://evil.test' }, /iss/],
    ['aud', { aud: 'another-app' }, /aud/],
    ['azp with several audiences', { aud: [CLIENT_ID, 'x'], azp: 'x' }, /azp/],
    ['nonce', { nonce: 'stale' }, /nonce/],
    ['missing nonce', { nonce: undefined }, /nonce/],
    ['exp', { exp: Math.floor(Date.now() / 1000) - 31 }, /exp/],
    ['iat in the future', { iat: Math.floor(Date.now() / 1000) + 120 }, /iat/],
    ['sub', { sub: '' }, /subject/],
  ])('refuses a wrong %s', async (_, change, message) => {
    const error = await rejection(await signJwt(key, idClaims({ nonce: 'n-1', ...change })));
    expect(error).toBeInstanceOf(SDKError);
    expect(error.code).toBe('invalid_id_token');
    expect(error.message).toMatch(message);
  });

  it('tolerates 30 s of clock skew on exp', async () => {
    const token = await signJwt(key, idClaims({ nonce: 'n-1', exp: Math.floor(Date.now() / 1000) - 20 }));
    await expect(verifyIdToken(token, jwksOf(key), expected)).resolves.toBeTruthy();
  });

  it('refuses a signature by another key and a tampered payload', async () => {
    const forged = await signJwt(other, idClaims({ nonce: 'n-1' }), { kid: 'k1' });
    expect((await rejection(forged)).message).toMatch(/signature/);
    const good = await signJwt(key, idClaims({ nonce: 'n-1' }));
    const [h, , s] = good.split('.');
    const tampered = `${h}.${base64url(new TextEncoder().encode(JSON.stringify(idClaims({ nonce: 'n-1', sub: 'admin' }))))}.${s}`;
    expect((await rejection(tampered)).message).toMatch(/signature/);
  });

  it.each(['none', 'HS256', 'RS512'])('never lets the token choose alg=%s', async (alg) => {
    const token = await signJwt(key, idClaims({ nonce: 'n-1' }), { alg });
    expect((await rejection(token)).message).toMatch(/RS256/);
  });

  it('refuses what is not a JWT', async () => {
    for (const token of ['', 'a.b', 'a.b.c', '!!.??.**']) {
      expect((await rejection(token)).code).toBe('invalid_id_token');
    }
  });

  it('refetches the JWKS for an unknown kid, at most once per cooldown', async () => {
    const fetcher = vi.fn(async () => ({ keys: [key.jwk] }));
    const jwks = new RemoteJWKS('u', fetcher, 60_000);
    await verifyIdToken(await signJwt(key, idClaims({ nonce: 'n-1' })), jwks, expected);
    expect(fetcher).toHaveBeenCalledTimes(1);
    const unknown = await signJwt(other, idClaims({ nonce: 'n-1' }));
    expect((await rejection(unknown, jwks)).message).toMatch(/no key k2/);
    expect(fetcher).toHaveBeenCalledTimes(1); // within the cooldown: no refetch storm
    const rotated = new RemoteJWKS('u', vi.fn().mockResolvedValueOnce({ keys: [key.jwk] }).mockResolvedValue({ keys: [key.jwk, other.jwk] }), 0);
    await verifyIdToken(await signJwt(key, idClaims({ nonce: 'n-1' })), rotated, expected);
    await expect(verifyIdToken(unknown, rotated, expected)).resolves.toBeTruthy(); // key rotation picked up
  });
});
