// The SDK's settings. The IdP's address and the client id come from the back end at
// start-up (/config.json), so one build runs against any IdP.
import { CrossAppAuthSDK, type AuthConfig } from '@streamline/cross-app-sdk';

export interface AppConfig {
  issuer: string;
  clientId: string;
}

export async function loadConfig(): Promise<AppConfig> {
  const response = await fetch('/config.json');
  if (!response.ok) throw new Error(`/config.json answered ${response.status}`);
  return (await response.json()) as AppConfig;
}

export function authConfig(config: AppConfig): AuthConfig {
  return {
    appId: config.clientId,
    issuer: config.issuer,
    redirectUrl: `${window.location.origin}/callback.html`,
    // offline_access: a rotating refresh token, so the session outlives the access token.
    scopes: 'openid profile email offline_access credits:read credits:consume credits:purchase',
    // Per tab, kept across reloads; 'local' would share the session between tabs.
    storage: 'session',
  };
}

/** The callback page's SDK (a redirect sign-in, when the popup was blocked). */
export function makeAuth(config: AppConfig): CrossAppAuthSDK {
  return new CrossAppAuthSDK(authConfig(config));
}
