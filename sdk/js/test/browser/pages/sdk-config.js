// The SDK's settings for the test app: /config.js (written by the test server) and the
// query string (?storage=local, ?fallback=error).
import { CrossAppAuthSDK } from '/dist/index.js';

export function makeAuth() {
  const config = window.TEST_CONFIG;
  const query = new URLSearchParams(window.location.search);
  // Kept for the redirect sign-in's callback page, which has no query of its own.
  if (query.get('storage')) sessionStorage.setItem('test-storage', query.get('storage'));
  return new CrossAppAuthSDK({
    appId: config.clientId,
    issuer: config.issuer,
    redirectUrl: `${window.location.origin}${query.has('coop') ? '/coop' : ''}/callback.html`,
    scopes: 'openid profile email offline_access credits:read credits:consume credits:purchase',
    storage: query.get('storage') || sessionStorage.getItem('test-storage') || 'memory',
    popupFallback: query.get('fallback') || 'redirect',
  });
}
