// Calls to this app's own back end (server/app.py), with the user's access token.
import { InsufficientCreditsError, SDKError } from '@streamline/cross-app-sdk';

export const GENERATE_COST = 10;

export interface Generated {
  output: string;
  cost: number;
  available: number;
}

/** POST /api/generate: the back end verifies the token and spends the credits. */
export async function generate(getAccessToken: () => Promise<string>): Promise<Generated> {
  const token = await getAccessToken();
  const response = await fetch('/api/generate', { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
  const body = await response.json().catch(() => ({}));
  if (response.ok) return body as Generated;
  // The back end passes the wallet's error on in the IdP's format: the SDK's typed errors fit.
  const options = { status: response.status, description: body.error_description, details: body };
  if (body.error === 'insufficient_credits') throw new InsufficientCreditsError(body.error_description ?? 'not enough credits', options);
  throw new SDKError(body.error ?? 'server_error', body.error_description, options);
}
