// demo-app/private-key-jwt.mjs
// Walk-through: get a token from the running demo as demo-jwt-service, authenticating with
// private_key_jwt (RFC 7523, OIDC Core §9) through openid-client, then call the demo's GET /api/me.
//
//   npm run demo                         # in one shell
//   node demo-app/private-key-jwt.mjs    # in another (ISSUER=http://localhost:3000 by default)
//
// !!! DEMO KEY: the private key below is PUBLISHED in this repository, so anyone can sign as
// !!! demo-jwt-service. It exists only so the demo works out of the box. A real client generates
// !!! its own key pair, keeps the private key secret and registers only the public JWK (as
// !!! demo-app/clients.json does for this one, under "jwks").
/* global crypto */
import * as client from 'openid-client';

const DEMO_PRIVATE_JWK = {
  kty: 'EC',
  crv: 'P-256',
  x: 'UKs5TS1Pw1y5zvt1zTkPlpUGHSVNBTGuhS_eo9HcePo',
  y: 'ZEPQRzW6rtFVr4dRI2-FanUeRJXBImTy-BMtZxUUcpc',
  d: 'xOh2L3fskn2wTtQkRGdrBdeKXKU6WCYOIfCSjl0xI18',
};
const KID = 'demo-jwt-service-2026';

const issuer = new URL(process.env.ISSUER || 'http://localhost:3000');
const key = await crypto.subtle.importKey('jwk', DEMO_PRIVATE_JWK, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);

// Discovery (the demo runs on plain http on loopback, which openid-client refuses unless allowed).
const config = await client.discovery(issuer, 'demo-jwt-service', undefined, client.PrivateKeyJwt({ key, kid: KID }), {
  execute: issuer.protocol === 'http:' ? [client.allowInsecureRequests] : [],
});

// openid-client signs a fresh ES256 assertion (iss = sub = client_id, aud, jti, exp) per request.
const tokens = await client.clientCredentialsGrant(config, { scope: 'api:read' });
console.log('token response:', { ...tokens, access_token: `${tokens.access_token.slice(0, 24)}…` });

const me = await client.fetchProtectedResource(config, tokens.access_token, new URL('/api/me', issuer), 'GET');
console.log(`GET /api/me -> ${me.status}`, await me.json());
