// The peer bench/compare.py measures our token endpoint against: node oidc-provider with
// its in-memory adapter, one confidential client (client_credentials and refresh_token)
// and one resource server whose access tokens are RS256 JWTs.
//
//   node server.js [PORT]        (or PORT=... node server.js; default 3000)
//
// POST /bench/refresh-tokens?n=N (loopback bench helper, outside the provider) returns N
// fresh refresh tokens, each of its own grant, so every wrk connection can chain its own.
import crypto from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.argv[2] ?? process.env.PORT ?? 3000);
const issuer = `http://127.0.0.1:${port}`;
export const CLIENT_ID = 'bench';
export const CLIENT_SECRET = process.env.PEER_CLIENT_SECRET ?? 'bench-peer-secret';
const RESOURCE = 'urn:idp-bench:api';
const RESOURCE_SCOPE = 'credits:read';
const ACCOUNT = 'bench-user';

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'bench', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  jwks: { keys: [signingKey] },
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials', 'refresh_token', 'authorization_code'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback'],
      scope: `offline_access ${RESOURCE_SCOPE}`,
    },
  ],
  scopes: ['openid', 'offline_access', RESOURCE_SCOPE],
  findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  rotateRefreshToken: true,
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => RESOURCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resource) => {
        if (resource !== RESOURCE) throw new Provider.errors.InvalidTarget();
        return {
          scope: RESOURCE_SCOPE,
          audience: RESOURCE,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 3600,
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
});

// One grant and one refresh token, as an authorization-code grant with offline_access
// would leave them (the bench has no browser to log in with).
async function seedRefreshToken(client) {
  const grant = new provider.Grant({ accountId: ACCOUNT, clientId: CLIENT_ID });
  grant.addOIDCScope('offline_access');
  grant.addResourceScope(RESOURCE, RESOURCE_SCOPE);
  const grantId = await grant.save();
  const token = new provider.RefreshToken({
    accountId: ACCOUNT,
    client,
    grantId,
    gty: 'authorization_code',
    scope: `offline_access ${RESOURCE_SCOPE}`,
    resource: RESOURCE,
    authTime: Math.floor(Date.now() / 1000),
  });
  return token.save();
}

const providerCallback = provider.callback();

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, issuer);
  if (req.method === 'POST' && url.pathname === '/bench/refresh-tokens') {
    const n = Math.min(Number(url.searchParams.get('n') ?? 1), 1000);
    const client = await provider.Client.find(CLIENT_ID);
    const tokens = [];
    for (let i = 0; i < n; i += 1) tokens.push(await seedRefreshToken(client));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ refresh_tokens: tokens }));
    return;
  }
  providerCallback(req, res);
});

server.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
