import { describe, expect, it } from 'vitest';
import { base64url, base64urlDecode, challengeS256, createVerifier, randomString } from '../../src/internal/pkce';

describe('PKCE (RFC 7636)', () => {
  it('computes S256 as in RFC 7636 appendix B', async () => {
    expect(await challengeS256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });

  it('makes 43-character verifiers from the unreserved alphabet, each one new', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const verifier = createVerifier();
      expect(verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
      seen.add(verifier);
    }
    expect(seen.size).toBe(50);
  });

  it('makes state and nonce values with 192 bits of randomness', () => {
    const a = randomString(24);
    expect(a).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(randomString(24)).not.toBe(a);
  });

  it('round-trips base64url without padding and refuses other alphabets', () => {
    const bytes = new Uint8Array([251, 255, 0, 1, 2]);
    expect(base64url(bytes)).toBe('-_8AAQI');
    expect([...base64urlDecode('-_8AAQI')]).toEqual([...bytes]);
    expect(() => base64urlDecode('+/8=')).toThrow();
  });
});
