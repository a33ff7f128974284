// examples/authorize-route/authorize.ts
// Your authorization endpoint (RFC 6749 §4.1.1): the router checks the request before any login
// page (validateAuthorizationRequest), mints the code once your user is signed in
// (issueAuthorizationCode) and builds both redirects (authorizationResponseUrl: the code or the
// error added to the registered redirect URI's query, `state` echoed, `iss` per RFC 9207).
// Login, sessions and consent stay yours: here they are the `currentUser` function.
// `npm run examples` compiles it with --strict and runs main(): a full code + PKCE flow via supertest.
import { strict as assert } from 'node:assert';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import request from 'supertest';
import { authorizationCode, createMemoryClientRegistry, createMemoryStorage, createTokenRouter, refreshToken } from 'express-token-endpoint';
// #region route
import express, { type Request, type Router } from 'express';
import { OAuthError, type TokenRouter } from 'express-token-endpoint';

/** Your user, as your session knows it. */
export interface SignedInUser {
  readonly id: string;
  /** When the user authenticated, in seconds since the epoch (the ID token's auth_time). */
  readonly authTime: number;
}

export function authorizeRoute(tokenRouter: TokenRouter, currentUser: (req: Request) => Promise<SignedInUser | undefined>): Router {
  const router = express.Router();
  router.get('/authorize', async (req, res) => {
    res.set('cache-control', 'no-store');
    const verdict = await tokenRouter.validateAuthorizationRequest(req.query);
    if (!verdict.valid && !verdict.redirect) {
      // Unknown client or redirect URI: never redirect (RFC 6749 §4.1.2.1). The message repeats nothing of the request.
      res.status(400).type('text/plain').send(`This sign-in link is not valid: ${verdict.error.message}`);
      return;
    }
    if (!verdict.valid) {
      res.redirect(tokenRouter.authorizationResponseUrl(verdict, verdict.error));
      return;
    }
    const user = await currentUser(req);
    if (!user) {
      if (verdict.request.prompt?.includes('none')) {
        res.redirect(tokenRouter.authorizationResponseUrl(verdict.request, new OAuthError('login_required', 'The user is not signed in.')));
        return;
      }
      res.redirect(`/login?return_to=${encodeURIComponent(req.originalUrl)}`); // your login page comes back here
      return;
    }
    const { code } = await tokenRouter.issueAuthorizationCode({ ...verdict.request, subject: user.id, authTime: user.authTime });
    res.redirect(tokenRouter.authorizationResponseUrl(verdict.request, { code }));
  });
  return router;
}
// #endregion route

async function main(): Promise<void> {
  const privateKey = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey;
  let signedIn: SignedInUser | undefined;
  const currentUser = async (): Promise<SignedInUser | undefined> => signedIn; // your session lookup
  // #region wiring
  const tokenRouter = createTokenRouter({
    issuer: 'https://id.example.com',
    signingKeys: [{ kid: 'k1', privateKey }],
    clients: createMemoryClientRegistry([
      {
        client_id: 'spa', token_endpoint_auth_method: 'none', // a public client: PKCE required, no secret
        grant_types: ['authorization_code', 'refresh_token'],
        redirect_uris: ['https://app.example.com/callback?tenant=acme'], // compared character for character
        scope: 'openid profile offline_access',
        refresh_token_policy: { type: 'sliding', lifetime: 1800, maxLifetime: 86_400 }, // public clients get none without one
      },
    ]),
    storage: createMemoryStorage(),
    grants: [authorizationCode(), refreshToken()], // the code flow needs authorizationCode()
  });
  const app = express();
  app.use('/connect', tokenRouter); // POST /connect/token
  app.use('/connect', authorizeRoute(tokenRouter, currentUser)); // GET /connect/authorize
  // #endregion wiring

  const verifier = randomBytes(32).toString('base64url');
  const query = {
    response_type: 'code', client_id: 'spa', redirect_uri: 'https://app.example.com/callback?tenant=acme', scope: 'openid profile offline_access',
    state: 'a b&c', nonce: 'n-1', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
  };

  // Not signed in: off to the login page, which returns to the same URL.
  const toLogin = await request(app).get('/connect/authorize').query(query);
  assert.equal(toLogin.status, 302);
  assert.match(toLogin.headers.location, /^\/login\?return_to=/);

  // Signed in: back to the client with a code, state (encoded) and iss; the registered query kept.
  signedIn = { id: 'alice', authTime: Math.floor(Date.now() / 1000) };
  const back = new URL((await request(app).get('/connect/authorize').query(query)).headers.location);
  assert.equal(back.origin + back.pathname, 'https://app.example.com/callback');
  assert.equal(back.searchParams.get('tenant'), 'acme');
  assert.equal(back.searchParams.get('state'), 'a b&c');
  assert.equal(back.searchParams.get('iss'), 'https://id.example.com');
  const code = back.searchParams.get('code');
  assert.ok(code);

  const tokens = await request(app).post('/connect/token').type('form')
    .send({ grant_type: 'authorization_code', client_id: 'spa', code, redirect_uri: query.redirect_uri, code_verifier: verifier });
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  assert.ok(tokens.body.id_token);
  assert.ok(tokens.body.refresh_token, 'offline_access and a refresh policy: a refresh token');

  // A redirect URI that is not registered is shown to the user, never redirected to.
  const foreign = await request(app).get('/connect/authorize').query({ ...query, redirect_uri: 'https://evil.example/cb' });
  assert.equal(foreign.status, 400);
  assert.equal(foreign.headers.location, undefined);
  // A bad scope goes back to the client as invalid_scope, with its state.
  const badScope = new URL((await request(app).get('/connect/authorize').query({ ...query, scope: 'openid admin' })).headers.location);
  assert.equal(badScope.searchParams.get('error'), 'invalid_scope');
  assert.equal(badScope.searchParams.get('state'), 'a b&c');
  // prompt=none without a session: login_required to the client.
  signedIn = undefined;
  const silent = new URL((await request(app).get('/connect/authorize').query({ ...query, prompt: 'none' })).headers.location);
  assert.equal(silent.searchParams.get('error'), 'login_required');
  console.log('authorize-route example: code + PKCE flow ok; unregistered redirect 400; bad scope and prompt=none redirected with their errors');
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
