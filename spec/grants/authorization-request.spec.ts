// spec/grants/authorization-request.spec.ts
// tokenRouter.validateAuthorizationRequest and authorizationResponseUrl (issue 17): a host checks
// an authorization request before the login page — shown or redirected per RFC 6749 §4.1.2.1 —
// and builds the redirect correctly (encoding, an existing query, state, RFC 9207 iss). A valid
// request spreads into issueAuthorizationCode and the code redeems at the token endpoint.
import { OAuthError, authorizationCode, clientCredentials, type AuthorizationRequestVerdict } from '../../lib';
import { CHALLENGE, redeem, SPA, VERIFIER } from '../helpers/code-flow';
import { createCodeTestApp, ISSUER, SPA_REDIRECT, WEB_REDIRECT } from '../helpers/create-app';

const JKT = 'A'.repeat(43);

describe('validateAuthorizationRequest', () => {
  const { tokenRouter, app } = createCodeTestApp();
  const check = (params: Record<string, string | string[]>) => tokenRouter.validateAuthorizationRequest(params);
  const base = { client_id: 'web', redirect_uri: WEB_REDIRECT, response_type: 'code', scope: 'openid api:read', state: 'xyz' };
  const spa = { client_id: 'spa', redirect_uri: SPA_REDIRECT, response_type: 'code', scope: 'openid', code_challenge: CHALLENGE, code_challenge_method: 'S256' };

  it('a valid request: everything issueAuthorizationCode needs, and the code redeems', async () => {
    const verdict = await check({ ...spa, state: 's-1', nonce: 'n-1', prompt: 'login consent', max_age: '300', login_hint: 'alice', acr_values: 'urn:acr:2 urn:acr:1' });
    if (!verdict.valid) throw new Error(`expected valid, got ${verdict.error.message}`);
    expect(verdict.request).toEqual(expect.objectContaining({
      clientId: 'spa', redirectUri: SPA_REDIRECT, responseType: 'code', scope: ['openid'], state: 's-1', nonce: 'n-1',
      codeChallenge: CHALLENGE, codeChallengeMethod: 'S256', prompt: ['login', 'consent'], maxAge: 300, loginHint: 'alice', acrValues: ['urn:acr:2', 'urn:acr:1'],
    }));
    expect(verdict.request.client.client_id).toBe('spa');
    const { code } = await tokenRouter.issueAuthorizationCode({ ...verdict.request, subject: 'user-1' });
    const res = await redeem(app, { code, redirect_uri: SPA_REDIRECT, code_verifier: VERIFIER }, SPA);
    expect(res.status).toBe(200);
  });

  it('accepts a URLSearchParams and a raw query string alike', async () => {
    const query = new URLSearchParams(base);
    expect((await tokenRouter.validateAuthorizationRequest(query)).valid).toBe(true);
    expect((await tokenRouter.validateAuthorizationRequest(`?${query.toString()}`)).valid).toBe(true);
  });

  it.each<[string, Record<string, string | string[]>]>([
    ['no client_id', { ...base, client_id: '' }],
    ['an unknown client', { ...base, client_id: 'nobody' }],
    ['a repeated client_id', { ...base, client_id: ['web', 'web'] }],
    ['no redirect_uri', { ...base, redirect_uri: '' }],
    ['an unregistered redirect_uri', { ...base, redirect_uri: 'https://evil.example/cb' }],
    ['a registered redirect_uri with something appended', { ...base, redirect_uri: `${WEB_REDIRECT}/x` }],
    ['a repeated redirect_uri', { ...base, redirect_uri: [WEB_REDIRECT, WEB_REDIRECT] }],
    ['a nested value', { ...base, scope: { a: 'b' } as unknown as string }],
  ])('%s: shown to the user, never redirected', async (_name, params) => {
    const verdict = await check(params);
    expect(verdict).toEqual({ valid: false, redirect: false, error: expect.any(OAuthError) });
    expect(verdict.valid === false && verdict.error.error).toBe('invalid_request');
  });

  it.each<[string, Record<string, string | string[]>, string]>([
    ['no response_type', { ...base, response_type: '' }, 'invalid_request'],
    ['response_type=token', { ...base, response_type: 'token' }, 'unsupported_response_type'],
    ['response_mode=fragment', { ...base, response_mode: 'fragment' }, 'invalid_request'],
    ['no scope', { ...base, scope: '' }, 'invalid_scope'],
    ['a scope the client lacks', { ...base, scope: 'openid admin' }, 'invalid_scope'],
    ['a repeated scope', { ...base, scope: ['openid', 'api:read'] }, 'invalid_request'],
    ['a nonce over 512 characters', { ...base, nonce: 'n'.repeat(513) }, 'invalid_request'],
    ['a request object', { ...base, request: 'eyJ.eyJ.sig' }, 'request_not_supported'],
    ['a request_uri', { ...base, request_uri: 'urn:example:req' }, 'request_uri_not_supported'],
    ['PKCE missing for a public client', { ...spa, code_challenge: '', code_challenge_method: '' }, 'invalid_request'],
    ['a method without a challenge', { ...base, code_challenge_method: 'S256' }, 'invalid_request'],
    ['a malformed S256 challenge', { ...base, code_challenge: 'short', code_challenge_method: 'S256' }, 'invalid_request'],
    ['plain PKCE (not allowed by default)', { ...base, code_challenge: VERIFIER, code_challenge_method: 'plain' }, 'invalid_request'],
    ['a challenge without a method (plain)', { ...base, code_challenge: VERIFIER }, 'invalid_request'],
    ['an unknown PKCE method', { ...base, code_challenge: CHALLENGE, code_challenge_method: 'S512' }, 'invalid_request'],
    ['a resource the client may not use', { ...base, resource: 'https://api.example.com' }, 'invalid_target'],
    ['a malformed resource', { ...base, resource: 'not a uri' }, 'invalid_target'],
    ['a malformed dpop_jkt', { ...base, dpop_jkt: 'abc' }, 'invalid_request'],
    ['an unknown prompt', { ...base, prompt: 'login whatever' }, 'invalid_request'],
    ['prompt=none with another value', { ...base, prompt: 'none login' }, 'invalid_request'],
    ['a non-numeric max_age', { ...base, max_age: '-1' }, 'invalid_request'],
    ['a login_hint over 1024 characters', { ...base, login_hint: 'h'.repeat(1025) }, 'invalid_request'],
    ['a repeated state', { ...base, state: ['a', 'b'] }, 'invalid_request'],
  ])('%s: redirected to the client as %s, with state, without echoing the request', async (_name, params, error) => {
    const verdict = await check(params);
    if (verdict.valid || !verdict.redirect) throw new Error(`expected a redirectable error, got ${JSON.stringify(verdict)}`);
    expect(verdict.error.error).toBe(error);
    expect(verdict.redirectUri).toBe(params.redirect_uri);
    if (typeof params.state === 'string') expect(verdict.state).toBe(params.state);
    for (const value of Object.values(params).flat()) if (value.length > 6) expect(verdict.error.message).not.toContain(value);
  });

  it('a client without the code flow: unauthorized_client, shown, not redirected (even to a registered redirect_uri)', async () => {
    const verdict = await check({ ...base, client_id: 'service' });
    expect(verdict).toEqual({ valid: false, redirect: false, error: expect.any(OAuthError) });
    expect(!verdict.valid && verdict.error.error).toBe('unauthorized_client');
  });

  it('a state over 1024 characters: invalid_request, redirected without the state', async () => {
    const verdict = await check({ ...base, state: 's'.repeat(1025) });
    expect(verdict).toEqual({ valid: false, redirect: true, redirectUri: WEB_REDIRECT, error: expect.any(OAuthError) });
  });

  it('the grant\'s policy applies: plain PKCE with allowPlainPkce, PKCE required with requirePkceForConfidentialClients', async () => {
    const plain = createCodeTestApp({ grants: [authorizationCode({ allowPlainPkce: true }), clientCredentials()] }).tokenRouter;
    expect((await plain.validateAuthorizationRequest({ ...base, code_challenge: VERIFIER, code_challenge_method: 'plain' })).valid).toBe(true);
    const strict = createCodeTestApp({ grants: [authorizationCode({ requirePkceForConfidentialClients: true }), clientCredentials()] }).tokenRouter;
    const verdict = await strict.validateAuthorizationRequest(base);
    expect(!verdict.valid && verdict.redirect && verdict.error.error).toBe('invalid_request');
  });

  it('resources and dpop_jkt pass through for issueAuthorizationCode', async () => {
    const withResources = createCodeTestApp({ resources: { 'https://api.example.com': {} } }, [
      { client_id: 'web', client_secret: 'secret-secret-secret-1234', grant_types: ['authorization_code'], redirect_uris: [WEB_REDIRECT], scope: 'openid api:read', resources: ['https://api.example.com'] },
    ]).tokenRouter;
    const verdict = await withResources.validateAuthorizationRequest({ ...base, resource: ['https://api.example.com', 'https://api.example.com'], dpop_jkt: JKT });
    if (!verdict.valid) throw new Error(verdict.error.message);
    expect(verdict.request.resources).toEqual(['https://api.example.com']);
    expect(verdict.request.dpopJkt).toBe(JKT);
  });

  it('without the authorizationCode grant, the members reject/throw with a clear message', async () => {
    const { tokenRouter: bare } = createCodeTestApp({ grants: [clientCredentials()] });
    await expect(bare.validateAuthorizationRequest(base)).rejects.toThrow(/validateAuthorizationRequest needs the built-in authorizationCode\(\) grant/);
    expect(() => bare.authorizationResponseUrl({ redirectUri: WEB_REDIRECT }, { code: 'c' })).toThrow(/authorizationCode\(\) grant/);
  });
});

describe('authorizationResponseUrl', () => {
  const { tokenRouter } = createCodeTestApp();

  it('adds code, state and iss (RFC 9207) to the redirect URI, keeping its query, encoding every value', () => {
    const url = new URL(tokenRouter.authorizationResponseUrl({ redirectUri: 'https://web.example.com/cb?tenant=a&x=1', state: 'a b&c=d/é' }, { code: 'the+code/=' }));
    expect(url.origin + url.pathname).toBe('https://web.example.com/cb');
    expect([...url.searchParams]).toEqual([['tenant', 'a'], ['x', '1'], ['code', 'the+code/='], ['state', 'a b&c=d/é'], ['iss', ISSUER]]);
  });

  it('an error verdict: error and error_description from the OAuthError, the state kept', async () => {
    const verdict: AuthorizationRequestVerdict = await tokenRouter.validateAuthorizationRequest({ client_id: 'web', redirect_uri: WEB_REDIRECT, response_type: 'token', state: 'st' });
    if (verdict.valid || !verdict.redirect) throw new Error('expected a redirectable error');
    const url = new URL(tokenRouter.authorizationResponseUrl(verdict, verdict.error));
    expect(Object.fromEntries(url.searchParams)).toEqual({ error: 'unsupported_response_type', error_description: 'Only response_type=code is supported.', state: 'st', iss: ISSUER });
  });

  it('an error of the host (e.g. the user denied consent), without state when the request had none', () => {
    const url = new URL(tokenRouter.authorizationResponseUrl({ redirectUri: WEB_REDIRECT }, { error: 'access_denied', error_description: 'The user said no.' }));
    expect(Object.fromEntries(url.searchParams)).toEqual({ error: 'access_denied', error_description: 'The user said no.', iss: ISSUER });
  });

  it.each<[string, unknown]>([
    ['an empty code', { code: '' }],
    ['an error code with a space', { error: 'access denied' }],
    ['a description with a quote', { error: 'access_denied', error_description: 'say "no"' }],
    ['nothing', {}],
  ])('refuses %s (a host mistake: TypeError)', (_name, response) => {
    expect(() => tokenRouter.authorizationResponseUrl({ redirectUri: WEB_REDIRECT }, response as { code: string })).toThrow(TypeError);
  });

  it('refuses a target that is not an absolute URI', () => {
    expect(() => tokenRouter.authorizationResponseUrl({ redirectUri: '/cb' }, { code: 'c' })).toThrow(TypeError);
  });
});
