// @vitest-environment node
import { describe, expect, it } from 'vitest';

describe('import without a window (SSR, Node)', () => {
  it('imports and constructs, and its methods settle without touching window', async () => {
    expect(typeof (globalThis as { window?: unknown }).window).toBe('undefined');
    const sdk = await import('../../src/index');
    const auth = new sdk.CrossAppAuthSDK({ appId: 'a', issuer: 'https://idp.test/', redirectUrl: 'https://app.test/cb' });
    expect(auth.config.issuer).toBe('https://idp.test');
    expect(await auth.isAuthenticated()).toBe(false);
    expect(await auth.getCurrentUser()).toBeNull();
    await expect(auth.login()).rejects.toMatchObject({ code: 'not_in_browser' });
    await expect(new sdk.CreditSDK(auth).purchaseCredits(5)).rejects.toMatchObject({ code: 'not_in_browser' });
    await expect(auth.getAccessToken()).rejects.toBeInstanceOf(sdk.SDKError);
    expect(sdk.completePopupLogin()).toBe(false);
    expect(() => new sdk.CrossAppAuthSDK({ appId: '', issuer: '', redirectUrl: '' })).toThrow(sdk.SDKError);
  });
});
