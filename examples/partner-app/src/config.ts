// The SDK's settings. The IdP's address and the client id come from the back end at
// start-up (/config.json), so one build runs against any IdP.
import { CreditSDK, CrossAppAuthSDK, PaymentSDK } from '@streamline/cross-app-sdk';

export interface AppConfig {
  issuer: string;
  clientId: string;
}

export const SCOPES = 'openid profile email offline_access credits:read credits:consume credits:purchase';

export async function loadConfig(): Promise<AppConfig> {
  const response = await fetch('/config.json');
  if (!response.ok) throw new Error(`/config.json answered ${response.status}`);
  return (await response.json()) as AppConfig;
}

export function makeAuth(config: AppConfig): CrossAppAuthSDK {
  return new CrossAppAuthSDK({
    appId: config.clientId,
    issuer: config.issuer,
    redirectUrl: `${window.location.origin}/callback.html`,
    scopes: SCOPES,
    // Per tab, kept across reloads; 'local' would share the session between tabs.
    storage: 'session',
  });
}

export interface Sdk {
  config: AppConfig;
  auth: CrossAppAuthSDK;
  credits: CreditSDK;
  payments: PaymentSDK;
}

export function makeSdk(config: AppConfig): Sdk {
  const auth = makeAuth(config);
  return { config, auth, credits: new CreditSDK(auth), payments: new PaymentSDK(auth) };
}
