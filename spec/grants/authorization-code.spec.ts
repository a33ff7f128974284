// spec/grants/authorization-code.spec.ts
// The authorization_code grant (RFC 6749 §4.1.3) through HTTP: code minting, the token request,
// expiry, redirect_uri, scope, the response, the access token, replay and concurrent redemption
// (security model rules D36–D44, I74–I77, J84, P118). PKCE is in authorization-code-pkce.spec.ts, ID tokens
// and pairwise subjects in id-token.spec.ts.
import type { Server } from 'node:http';
import request from 'supertest';
import { authorizationCode, clientCredentials, ConfigurationError, createMemoryStorage, createTokenRouter, createMemoryClientRegistry, hashOpaqueToken, OAuthError, type AuthorizationCodeInput, type MemoryStorage, type StorageAdapter, type TokenEndpointEvent } from '../../lib';
import { basic, createCodeTestApp, decodeJwt, ISSUER, SERVICE_SECRET, SPA_REDIRECT, WEB_REDIRECT, type CodeTestApp } from '../helpers/create-app';
import { CHALLENGE, codeInput, redeem, seconds, SPA, VERIFIER, WEB_B } from '../helpers/code-flow';
import { withLatency } from '../helpers/latency-storage';
import { rsaKey } from '../helpers/keys';
import { recordCalls } from '../helpers/record-calls';

const CODE_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Awaits a promise that must reject and returns what it rejected with. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** Asserts an OAuthError with the given code. */
async function expectOAuthError(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(OAuthError);
  expect((error as OAuthError).error).toBe(code);
}

describe('issueAuthorizationCode (minting)', () => {
  const { tokenRouter, storage, clock } = createCodeTestApp();

  it('returns a 43-character code, a grant id, and expiresAt = now + 60 s by default', async () => {
    const issued = await tokenRouter.issueAuthorizationCode(codeInput());
    expect(issued.code).toMatch(CODE_PATTERN);
    expect(issued.grantId).toMatch(UUID_PATTERN);
    expect(issued.expiresAt).toBe(clock() + 60_000);
    expect(issued.expiresIn).toBe(60);
  });

  it('mints a different code and grant id every time', async () => {
    const a = await tokenRouter.issueAuthorizationCode(codeInput());
    const b = await tokenRouter.issueAuthorizationCode(codeInput());
    expect(a.code).not.toBe(b.code);
    expect(a.grantId).not.toBe(b.grantId);
  });

  it('stores the record under the code digest, with what the token request needs', async () => {
    const issued = await tokenRouter.issueAuthorizationCode(
      codeInput({ scope: ['openid', 'api:read'], nonce: 'n-1', authTime: 1_767_225_000, acr: 'urn:acr:2', amr: ['pwd'], sid: 'sid-1', codeChallenge: CHALLENGE, codeChallengeMethod: 'S256' }),
    );
    expect(await storage.findAuthorizationCode(issued.code)).toBeUndefined();
    const record = await storage.findAuthorizationCode(hashOpaqueToken(issued.code));
    expect(record).toEqual({
      codeHash: hashOpaqueToken(issued.code),
      clientId: 'web',
      redirectUri: WEB_REDIRECT,
      scope: ['openid', 'api:read'],
      subject: 'user-1',
      nonce: 'n-1',
      authTime: 1_767_225_000,
      acr: 'urn:acr:2',
      amr: ['pwd'],
      sid: 'sid-1',
      codeChallenge: CHALLENGE,
      codeChallengeMethod: 'S256',
      grantId: issued.grantId,
      issuedAt: clock(),
      expiresAt: issued.expiresAt,
    });
    expect(JSON.stringify(record)).not.toContain(issued.code);
  });

  it('codeTtl changes the lifetime', async () => {
    const app = createCodeTestApp({ grants: [authorizationCode({ codeTtl: 300 })] });
    const issued = await app.tokenRouter.issueAuthorizationCode(codeInput());
    expect(issued.expiresAt).toBe(app.clock() + 300_000);
    expect(issued.expiresIn).toBe(300);
  });

  it.each([0, 601, 1.5])('codeTtl %p is refused at createTokenRouter', (codeTtl) => {
    expect(() => createCodeTestApp({ grants: [authorizationCode({ codeTtl })] })).toThrow(ConfigurationError);
  });

  it('without the authorizationCode() grant, issueAuthorizationCode rejects', async () => {
    const app = createCodeTestApp({ grants: [clientCredentials()] });
    await expect(app.tokenRouter.issueAuthorizationCode(codeInput())).rejects.toThrow(/authorizationCode\(\) grant/);
  });

  describe('problems of the authorization request → OAuthError', () => {
    it('unknown client → invalid_request', () => expectOAuthError(tokenRouter.issueAuthorizationCode(codeInput({ clientId: 'nobody' })), 'invalid_request'));
    it('client without the authorization_code grant → unauthorized_client', () =>
      expectOAuthError(tokenRouter.issueAuthorizationCode(codeInput({ clientId: 'service' })), 'unauthorized_client'));
    it.each([
      ['another client\'s URI', 'https://b.example.org/cb'],
      ['trailing slash', `${WEB_REDIRECT}/`],
      ['upper case', 'https://WEB.example.com/cb'],
      ['extra query', `${WEB_REDIRECT}?x=1`],
      ['percent-encoded', 'https://web.example.com/c%62'],
      ['empty', ''],
    ])('unregistered redirect_uri (%s) → invalid_request', (_name, redirectUri) =>
      expectOAuthError(tokenRouter.issueAuthorizationCode(codeInput({ redirectUri })), 'invalid_request'));
    it('scope outside the client\'s → invalid_scope', () => expectOAuthError(tokenRouter.issueAuthorizationCode(codeInput({ scope: 'openid admin' })), 'invalid_scope'));
    it('scope with characters outside RFC 6749 §3.3 → invalid_scope', () =>
      expectOAuthError(tokenRouter.issueAuthorizationCode(codeInput({ scope: 'openid "api:read"' })), 'invalid_scope'));
    it('public client without a code_challenge → invalid_request', () =>
      expectOAuthError(tokenRouter.issueAuthorizationCode(codeInput({ clientId: 'spa', redirectUri: SPA_REDIRECT })), 'invalid_request'));
    it.each([
      ['padded', `${CHALLENGE}=`],
      ['standard base64', CHALLENGE.replace('-', '+')],
      ['42 characters', CHALLENGE.slice(1)],
      ['a character outside base64url', `${CHALLENGE.slice(0, 42)}.`],
    ])('malformed S256 challenge (%s) → invalid_request', (_name, codeChallenge) =>
      expectOAuthError(tokenRouter.issueAuthorizationCode(codeInput({ codeChallenge, codeChallengeMethod: 'S256' })), 'invalid_request'));
    it('plain method when plain is not allowed → invalid_request', () =>
      expectOAuthError(tokenRouter.issueAuthorizationCode(codeInput({ codeChallenge: VERIFIER, codeChallengeMethod: 'plain' })), 'invalid_request'));
    it('a challenge without a method means plain (RFC 7636 §4.3) → invalid_request when plain is not allowed', () =>
      expectOAuthError(tokenRouter.issueAuthorizationCode(codeInput({ codeChallenge: VERIFIER })), 'invalid_request'));
    it('a method without a challenge → invalid_request', () =>
      expectOAuthError(tokenRouter.issueAuthorizationCode(codeInput({ codeChallengeMethod: 'S256' })), 'invalid_request'));
    it('an unknown method → invalid_request', () =>
      expectOAuthError(tokenRouter.issueAuthorizationCode({ ...codeInput({ codeChallenge: CHALLENGE }), codeChallengeMethod: 'S512' } as unknown as AuthorizationCodeInput), 'invalid_request'));
    it('a nonce over 512 characters → invalid_request', () => expectOAuthError(tokenRouter.issueAuthorizationCode(codeInput({ nonce: 'n'.repeat(513) })), 'invalid_request'));
  });

  describe('host misuse → TypeError', () => {
    it.each<[string, Partial<AuthorizationCodeInput>]>([
      ['empty subject', { subject: '' }],
      ['subject over 255 characters', { subject: 's'.repeat(256) }],
      ['authTime in milliseconds', { authTime: Date.UTC(2026, 0, 1) }],
      ['fractional authTime', { authTime: 1_767_225_000.5 }],
      ['negative authTime', { authTime: -1 }],
      ['empty clientId', { clientId: '' }],
    ])('%s', async (_name, overrides) => {
      const error = await rejectionOf(tokenRouter.issueAuthorizationCode(codeInput(overrides)));
      expect(error).toBeInstanceOf(TypeError);
      expect(error).not.toBeInstanceOf(OAuthError);
    });

    // OIDC Core §2: sub is at most 255 ASCII characters.
    it.each([['üser'], ['user\u00001'], ['user\n1'], [' padded']])('a subject that is not printable ASCII (%j)', async (subject) => {
      expect(await rejectionOf(tokenRouter.issueAuthorizationCode(codeInput({ subject })))).toBeInstanceOf(TypeError);
    });

    it('non-string amr entries', async () => {
      const input = { ...codeInput(), amr: ['pwd', 1] } as unknown as AuthorizationCodeInput;
      expect(await rejectionOf(tokenRouter.issueAuthorizationCode(input))).toBeInstanceOf(TypeError);
    });
  });
});

describe('only the code digest reaches storage', () => {
  it('no argument of any storage call, while minting and redeeming, contains the raw code', async () => {
    const memory = createMemoryStorage();
    const { storage, calls } = recordCalls(memory);
    const { app, tokenRouter } = createCodeTestApp({ storage });
    const { code } = await tokenRouter.issueAuthorizationCode(codeInput({ codeChallenge: CHALLENGE, codeChallengeMethod: 'S256' }));
    const res = await redeem(app, { code, redirect_uri: WEB_REDIRECT, code_verifier: VERIFIER });
    expect(res.status).toBe(200);
    expect(calls.map((call) => call.method)).toEqual(['saveAuthorizationCode', 'findAuthorizationCode', 'isGrantRevoked', 'consumeAuthorizationCode']);
    const stored = JSON.stringify(calls);
    expect(stored).not.toContain(code);
    expect(stored).not.toContain(VERIFIER);
    expect(stored).toContain(hashOpaqueToken(code));
    expect(memory.size().codes).toBe(1);
    memory.close();
  });
});

describe('token request parameters and code lookup', () => {
  const { app, tokenRouter, storage } = createCodeTestApp();
  const mint = (input: Partial<AuthorizationCodeInput> = {}) => tokenRouter.issueAuthorizationCode(codeInput(input));

  it('a code minted for a confidential client redeems once (happy path)', async () => {
    const { code } = await mint();
    const res = await redeem(app, { code, redirect_uri: WEB_REDIRECT });
    expect(res.status).toBe(200);
    expect(res.body.access_token).toEqual(expect.any(String));
  });

  it.each<[string, Record<string, string>]>([
    ['code missing', { redirect_uri: WEB_REDIRECT }],
    ['code empty (= absent)', { code: '', redirect_uri: WEB_REDIRECT }],
    ['redirect_uri missing', { code: 'CODE' }],
    ['redirect_uri empty (= absent)', { code: 'CODE', redirect_uri: '' }],
  ])('%s → 400 invalid_request, and the code is not consumed', async (_name, params) => {
    const { code } = await mint();
    const res = await redeem(app, Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v === 'CODE' ? code : v])));
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect((await redeem(app, { code, redirect_uri: WEB_REDIRECT })).status).toBe(200);
  });

  it.each([
    ['unknown code', 'A'.repeat(43)],
    ['garbage', 'not a code at all'],
  ])('%s → 400 invalid_grant', async (_name, code) => {
    const res = await redeem(app, { code, redirect_uri: WEB_REDIRECT });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_grant');
  });

  it('a code over 512 characters → 400 invalid_request before any lookup', async () => {
    const res = await redeem(app, { code: 'A'.repeat(513), redirect_uri: WEB_REDIRECT });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });

  it('code of client A used by client B → invalid_grant; the code is not consumed and its grant not revoked', async () => {
    const { code, grantId } = await mint();
    const stolen = await redeem(app, { code, redirect_uri: WEB_REDIRECT }, WEB_B);
    expect(stolen.status).toBe(400);
    expect(stolen.body.error).toBe('invalid_grant');
    expect(await storage.isGrantRevoked(grantId)).toBe(false);
    expect((await storage.findAuthorizationCode(hashOpaqueToken(code)))?.consumedAt).toBeUndefined();
    expect((await redeem(app, { code, redirect_uri: WEB_REDIRECT })).status).toBe(200);
  });

  it('unknown, foreign and used codes share one error description (no oracle)', async () => {
    const { code } = await mint();
    const foreign = await redeem(app, { code, redirect_uri: WEB_REDIRECT }, WEB_B);
    const unknown = await redeem(app, { code: 'B'.repeat(43), redirect_uri: WEB_REDIRECT });
    await redeem(app, { code, redirect_uri: WEB_REDIRECT });
    const used = await redeem(app, { code, redirect_uri: WEB_REDIRECT });
    expect(foreign.body).toEqual(unknown.body);
    expect(used.body).toEqual(unknown.body);
  });

  it('every refusal is the RFC 6749 §5.2 envelope: JSON, no-store, printable-ASCII description, nothing echoed', async () => {
    const { code } = await mint({ codeChallenge: CHALLENGE, codeChallengeMethod: 'S256' });
    const refusals = await Promise.all([
      redeem(app, { redirect_uri: WEB_REDIRECT }),
      redeem(app, { code: 'A'.repeat(43), redirect_uri: WEB_REDIRECT }),
      redeem(app, { code, redirect_uri: `${WEB_REDIRECT}/` }),
      redeem(app, { code, redirect_uri: WEB_REDIRECT }),
      redeem(app, { code, redirect_uri: WEB_REDIRECT, code_verifier: 'B'.repeat(43) }),
      redeem(app, { code, redirect_uri: WEB_REDIRECT, code_verifier: `${VERIFIER}"\\` }),
      redeem(app, { code, redirect_uri: WEB_REDIRECT, code_verifier: VERIFIER, scope: 'admin' }),
    ]);
    for (const res of refusals) {
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers.pragma).toBe('no-cache');
      expect(Object.keys(res.body).sort()).toEqual(['error', 'error_description']);
      expect(res.body.error_description).toMatch(/^[\x20\x21\x23-\x5b\x5d-\x7e]+$/);
      expect(res.text).not.toContain(code);
      expect(res.text).not.toContain(VERIFIER);
    }
    expect(refusals.map((res) => res.body.error)).toEqual(['invalid_request', 'invalid_grant', 'invalid_grant', 'invalid_grant', 'invalid_grant', 'invalid_request', 'invalid_scope']);
    expect((await redeem(app, { code, redirect_uri: WEB_REDIRECT, code_verifier: VERIFIER })).status).toBe(200);
  });

  it('failed client authentication neither consumes nor revokes the code (rule B27)', async () => {
    const { code, grantId } = await mint();
    const res = await redeem(app, { code, redirect_uri: WEB_REDIRECT }, { id: 'web', secret: 'wrong-secret-0000000' });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
    expect(await storage.isGrantRevoked(grantId)).toBe(false);
    expect((await redeem(app, { code, redirect_uri: WEB_REDIRECT })).status).toBe(200);
  });

  it('a client without the authorization_code grant → unauthorized_client, before the code is looked at', async () => {
    const { code } = await mint();
    const res = await request(app).post('/connect/token').set('Authorization', basic('service', SERVICE_SECRET)).type('form')
      .send(`grant_type=authorization_code&code=${code}&redirect_uri=${encodeURIComponent(WEB_REDIRECT)}`);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('unauthorized_client');
    expect((await redeem(app, { code, redirect_uri: WEB_REDIRECT })).status).toBe(200);
  });

  it('a public client redeems with client_id only (and its PKCE verifier)', async () => {
    const { code } = await mint({ clientId: 'spa', redirectUri: SPA_REDIRECT, codeChallenge: CHALLENGE, codeChallengeMethod: 'S256' });
    const res = await redeem(app, { code, redirect_uri: SPA_REDIRECT, code_verifier: VERIFIER }, SPA);
    expect(res.status).toBe(200);
  });

  it('a public client without client_id → 401 invalid_client, and the code stays redeemable', async () => {
    const { code } = await mint({ clientId: 'spa', redirectUri: SPA_REDIRECT, codeChallenge: CHALLENGE, codeChallengeMethod: 'S256' });
    const res = await request(app).post('/connect/token').type('form')
      .send(`grant_type=authorization_code&code=${code}&redirect_uri=${encodeURIComponent(SPA_REDIRECT)}&code_verifier=${VERIFIER}`);
    expect(res.status).toBe(401);
    expect((await redeem(app, { code, redirect_uri: SPA_REDIRECT, code_verifier: VERIFIER }, SPA)).status).toBe(200);
  });
});

describe('code expiry (injected clock)', () => {
  it('works up to 59.999 s after minting and is invalid_grant from 60 s on', async () => {
    const { app, tokenRouter, clock } = createCodeTestApp();
    const early = await tokenRouter.issueAuthorizationCode(codeInput());
    const late = await tokenRouter.issueAuthorizationCode(codeInput());
    clock.advance(59_999);
    expect((await redeem(app, { code: early.code, redirect_uri: WEB_REDIRECT })).status).toBe(200);
    clock.advance(1);
    const res = await redeem(app, { code: late.code, redirect_uri: WEB_REDIRECT });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_grant');
  });

  it('follows codeTtl', async () => {
    const { app, tokenRouter, clock } = createCodeTestApp({ grants: [authorizationCode({ codeTtl: 300 })] });
    const a = await tokenRouter.issueAuthorizationCode(codeInput());
    const b = await tokenRouter.issueAuthorizationCode(codeInput());
    clock.advance(299_000);
    expect((await redeem(app, { code: a.code, redirect_uri: WEB_REDIRECT })).status).toBe(200);
    clock.advance(1_000);
    expect((await redeem(app, { code: b.code, redirect_uri: WEB_REDIRECT })).body.error).toBe('invalid_grant');
  });
});

describe('redirect_uri must equal the one the code was minted for (RFC 6749 §4.1.3, no normalisation)', () => {
  const { app, tokenRouter, storage } = createCodeTestApp();

  it.each([
    ['trailing slash', `${WEB_REDIRECT}/`],
    ['host case', 'https://WEB.example.com/cb'],
    ['scheme case', 'HTTPS://web.example.com/cb'],
    ['path case', 'https://web.example.com/CB'],
    ['extra query', `${WEB_REDIRECT}?x=1`],
    ['another registered query variant', 'https://web.example.com/cb?tenant=a'],
    ['percent-encoding variant', 'https://web.example.com/c%62'],
    ['explicit default port', 'https://web.example.com:443/cb'],
    ['fragment', `${WEB_REDIRECT}#`],
    ['another registered URI', 'https://web.example.com/other'],
  ])('%s → invalid_grant, and the code is still redeemable with the right one', async (_name, redirectUri) => {
    const { code, grantId } = await tokenRouter.issueAuthorizationCode(codeInput());
    const res = await redeem(app, { code, redirect_uri: redirectUri });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_grant');
    expect(await storage.isGrantRevoked(grantId)).toBe(false);
    expect((await redeem(app, { code, redirect_uri: WEB_REDIRECT })).status).toBe(200);
  });
});

describe('scope on the token request', () => {
  const { app, tokenRouter } = createCodeTestApp();
  const mint = () => tokenRouter.issueAuthorizationCode(codeInput({ scope: 'openid profile api:read api:write' }));

  it('omitted → the granted scope, in the response and the access token', async () => {
    const { code } = await mint();
    const res = await redeem(app, { code, redirect_uri: WEB_REDIRECT });
    expect(res.body.scope).toBe('openid profile api:read api:write');
    expect(decodeJwt(res.body.access_token).payload.scope).toBe('openid profile api:read api:write');
  });

  it('a subset → the access token is narrowed and the response scope says so', async () => {
    const { code } = await mint();
    const res = await redeem(app, { code, redirect_uri: WEB_REDIRECT, scope: 'openid api:read' });
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('openid api:read');
    expect(decodeJwt(res.body.access_token).payload.scope).toBe('openid api:read');
    expect(res.body.id_token).toEqual(expect.any(String));
  });

  it('a subset without openid → no ID token', async () => {
    const { code } = await mint();
    const res = await redeem(app, { code, redirect_uri: WEB_REDIRECT, scope: 'api:write' });
    expect(res.body.scope).toBe('api:write');
    expect(res.body.id_token).toBeUndefined();
  });

  it.each([
    ['a scope the client has but the code was not granted', 'openid api:read email'],
    ['a scope nobody has', 'admin'],
  ])('a superset (%s) → invalid_scope, and the code is not consumed', async (_name, scope) => {
    const { code } = await mint();
    const res = await redeem(app, { code, redirect_uri: WEB_REDIRECT, scope });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_scope');
    const retry = await redeem(app, { code, redirect_uri: WEB_REDIRECT });
    expect(retry.status).toBe(200);
    expect(decodeJwt(retry.body.access_token).payload.scope).toBe('openid profile api:read api:write');
  });
  // `scope=%20%20` parses to no scope token: it is treated as absent (the granted scope), never as an empty grant.
  it('a whitespace-only scope → invalid_scope or the granted scope, never an empty grant', async () => {
    const { code } = await mint();
    const res = await redeem(app, { code, redirect_uri: WEB_REDIRECT, scope: '  ' });
    expect(res.status === 400 ? res.body.error : res.body.scope).toMatch(/^(invalid_scope|openid profile api:read api:write)$/);
  });
});

describe('the token response', () => {
  const { app, tokenRouter, events } = createCodeTestApp();

  it('has access_token, token_type Bearer, integer expires_in, scope and id_token, with no-store headers', async () => {
    const { code, grantId } = await tokenRouter.issueAuthorizationCode(codeInput({ scope: 'openid api:read' }));
    const res = await redeem(app, { code, redirect_uri: WEB_REDIRECT });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json; charset=utf-8$/i);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.pragma).toBe('no-cache');
    expect(res.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'openid api:read', id_token: expect.any(String) });
    expect(Number.isInteger(res.body.expires_in)).toBe(true);
    const at = decodeJwt(res.body.access_token).payload;
    expect((at.exp as number) - (at.iat as number)).toBe(res.body.expires_in);
    expect(res.text).not.toContain(code);
    expect(events).toContainEqual(expect.objectContaining({ type: 'token.issued', grantType: 'authorization_code', clientId: 'web', grantId, refreshTokenIssued: false, idTokenIssued: true }));
    expect(JSON.stringify(events)).not.toContain(code);
  });

  it('has no id_token when openid was not granted', async () => {
    const { code } = await tokenRouter.issueAuthorizationCode(codeInput({ scope: 'api:read' }));
    const res = await redeem(app, { code, redirect_uri: WEB_REDIRECT });
    expect(res.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'api:read' });
  });

  it('has no refresh_token, even with offline_access granted (refresh policies come later)', async () => {
    const { code } = await tokenRouter.issueAuthorizationCode(codeInput({ scope: 'openid offline_access api:read' }));
    const res = await redeem(app, { code, redirect_uri: WEB_REDIRECT });
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('openid offline_access api:read');
    expect('refresh_token' in res.body).toBe(false);
  });

  // "" is not a valid RFC 6749 §3.3 scope value: the member is left out, as client_credentials does.
  it('omits scope (rather than sending "") when the granted scope is empty', async () => {
    const { code } = await tokenRouter.issueAuthorizationCode(codeInput({ scope: '' }));
    const res = await redeem(app, { code, redirect_uri: WEB_REDIRECT });
    expect(res.status).toBe(200);
    expect('scope' in res.body).toBe(false);
  });
});

describe('the access token of a user grant', () => {
  const { app, tokenRouter, clock } = createCodeTestApp();

  it('has sub = the user, client_id, scope, and the session facts it was minted with', async () => {
    const authTime = seconds(clock()) - 30;
    const { code, grantId } = await tokenRouter.issueAuthorizationCode(
      codeInput({ authTime, acr: 'urn:acr:2', amr: ['pwd', 'otp'], sid: 'sid-1', claims: { access_token: { tnuid: 'tn-1', roles: ['a'] } } }),
    );
    const res = await redeem(app, { code, redirect_uri: WEB_REDIRECT });
    const { header, payload } = decodeJwt(res.body.access_token);
    expect(header).toEqual({ alg: 'RS256', typ: 'at+jwt', kid: 'test-key' });
    const iat = seconds(clock());
    expect(payload).toEqual({
      iss: ISSUER,
      sub: 'user-1',
      aud: ISSUER,
      client_id: 'web',
      iat,
      nbf: iat,
      exp: iat + 3600,
      jti: expect.any(String),
      scope: 'openid api:read',
      auth_time: authTime,
      acr: 'urn:acr:2',
      amr: ['pwd', 'otp'],
      sid: 'sid-1',
      tnuid: 'tn-1',
      roles: ['a'],
      // The grant it belongs to, so introspection and token exchange see a revoked grant.
      grant_id: grantId,
    });
  });

  it('leaves auth_time, acr, amr and sid out (not null) when the code had none', async () => {
    const { code } = await tokenRouter.issueAuthorizationCode(codeInput({ amr: [] }));
    const res = await redeem(app, { code, redirect_uri: WEB_REDIRECT });
    const { payload } = decodeJwt(res.body.access_token);
    for (const claim of ['auth_time', 'acr', 'amr', 'sid', 'nonce']) expect(claim in payload).toBe(false);
    expect(Object.values(payload)).not.toContain(null);
  });

  it('host claims from minting cannot override protected claims', async () => {
    const { code } = await tokenRouter.issueAuthorizationCode(
      codeInput({
        authTime: 1_767_225_000,
        claims: {
          access_token: {
            sub: 'admin', client_id: 'other', scope: 'admin', aud: 'https://evil.test', iss: 'https://evil.test', exp: 9_999_999_999,
            iat: 1, nbf: 1, jti: 'fixed', auth_time: 1, acr: 'x', amr: ['x'], sid: 'x', cnf: { jkt: 'x' }, tnuid: 'tn-1', nothing: null,
          },
        },
      }),
    );
    const res = await redeem(app, { code, redirect_uri: WEB_REDIRECT });
    const { payload } = decodeJwt(res.body.access_token);
    expect(payload).toMatchObject({ iss: ISSUER, sub: 'user-1', aud: ISSUER, client_id: 'web', scope: 'openid api:read', auth_time: 1_767_225_000, tnuid: 'tn-1' });
    expect(payload.jti).not.toBe('fixed');
    expect(payload.exp).toBe(seconds(clock()) + 3600);
    for (const claim of ['acr', 'amr', 'sid', 'cnf', 'nothing']) expect(claim in payload).toBe(false);
  });

  it('the accessToken.claims hook adds claims but cannot override protected ones', async () => {
    const hooked = createCodeTestApp({ accessToken: { claims: ({ session, grantType }) => ({ sub: 'admin', client_id: 'x', scope: 'admin', grant: grantType, local: session?.subject }) } });
    const { code } = await hooked.tokenRouter.issueAuthorizationCode(codeInput());
    const res = await redeem(hooked.app, { code, redirect_uri: WEB_REDIRECT });
    expect(decodeJwt(res.body.access_token).payload).toMatchObject({ sub: 'user-1', client_id: 'web', scope: 'openid api:read', grant: 'authorization_code', local: 'user-1' });
  });
});

describe('replay (RFC 6749 §4.1.2, §10.5)', () => {
  const { app, tokenRouter, storage, events } = createCodeTestApp();

  it('a second redemption → invalid_grant, the grant is revoked and grant.revoked is reported', async () => {
    const { code, grantId } = await tokenRouter.issueAuthorizationCode(codeInput());
    expect((await redeem(app, { code, redirect_uri: WEB_REDIRECT })).status).toBe(200);
    expect(await storage.isGrantRevoked(grantId)).toBe(false);
    events.length = 0;
    const replay = await redeem(app, { code, redirect_uri: WEB_REDIRECT });
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    expect(await storage.isGrantRevoked(grantId)).toBe(true);
    expect(events).toContainEqual({ type: 'grant.revoked', at: expect.any(Number), grantId, clientId: 'web', reason: 'authorization_code_replay' });
    expect(events.filter((e) => e.type === 'token.issued')).toHaveLength(0);
  });

  it('a replay with a wrong redirect_uri is refused but does not revoke (only a replay valid for the code does)', async () => {
    const { code, grantId } = await tokenRouter.issueAuthorizationCode(codeInput());
    await redeem(app, { code, redirect_uri: WEB_REDIRECT });
    expect((await redeem(app, { code, redirect_uri: 'https://web.example.com/other' })).body.error).toBe('invalid_grant');
    expect(await storage.isGrantRevoked(grantId)).toBe(false);
    expect((await redeem(app, { code, redirect_uri: WEB_REDIRECT })).body.error).toBe('invalid_grant');
    expect(await storage.isGrantRevoked(grantId)).toBe(true);
  });

  it('another client presenting a used code gets invalid_grant and cannot revoke the owner\'s grant', async () => {
    const { code, grantId } = await tokenRouter.issueAuthorizationCode(codeInput());
    await redeem(app, { code, redirect_uri: WEB_REDIRECT });
    expect((await redeem(app, { code, redirect_uri: WEB_REDIRECT }, WEB_B)).body.error).toBe('invalid_grant');
    expect(await storage.isGrantRevoked(grantId)).toBe(false);
  });

  // RFC 6749 §4.1.2 asks to revoke on any second use: "already used" is checked before expiry.
  it('a replay after the code expired still revokes the grant', async () => {
    const expiring = createCodeTestApp();
    const { code, grantId } = await expiring.tokenRouter.issueAuthorizationCode(codeInput());
    expect((await redeem(expiring.app, { code, redirect_uri: WEB_REDIRECT })).status).toBe(200);
    expiring.clock.advance(61_000);
    expect(await expiring.storage.findAuthorizationCode(hashOpaqueToken(code))).toBeDefined();
    expect((await redeem(expiring.app, { code, redirect_uri: WEB_REDIRECT })).body.error).toBe('invalid_grant');
    expect(await expiring.storage.isGrantRevoked(grantId)).toBe(true);
  });
});

describe('concurrent redemption of one code (rule P118)', () => {
  const PARALLEL = 50;

  const variants: ReadonlyArray<readonly [string, (memory: MemoryStorage) => StorageAdapter]> = [
    ['memory storage', (memory) => memory],
    ['memory storage answering with 1–5 ms latency', (memory) => withLatency<StorageAdapter>(memory, () => 1 + Math.random() * 4)],
  ];

  describe.each(variants)('%s', (_name, wrap) => {
    let memory: MemoryStorage;
    let harness: CodeTestApp;
    let server: Server;

    beforeAll(async () => {
      harness = createCodeTestApp((clock) => {
        memory = createMemoryStorage({ clock });
        return { storage: wrap(memory) };
      });
      server = harness.app.listen(0, '127.0.0.1');
      await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    });

    afterAll(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      memory.close();
    });

    it.each([1, 2, 3])(`${PARALLEL} parallel redemptions → exactly one 200 and ${PARALLEL - 1} invalid_grant (run %i)`, async () => {
      const { code, grantId } = await harness.tokenRouter.issueAuthorizationCode(codeInput({ codeChallenge: CHALLENGE, codeChallengeMethod: 'S256' }));
      harness.events.length = 0;
      const responses = await Promise.all(
        Array.from({ length: PARALLEL }, () => redeem(server, { code, redirect_uri: WEB_REDIRECT, code_verifier: VERIFIER })),
      );
      const ok = responses.filter((res) => res.status === 200);
      const refused = responses.filter((res) => res.status === 400 && res.body.error === 'invalid_grant');
      expect(ok).toHaveLength(1);
      expect(refused).toHaveLength(PARALLEL - 1);
      const issued = harness.events.filter((e): e is Extract<TokenEndpointEvent, { type: 'token.issued' }> => e.type === 'token.issued');
      expect(issued).toHaveLength(1);
      expect(issued[0].grantId).toBe(grantId);
      // Losers are replays: the grant (and so the winner's tokens) ends up revoked. A loser that
      // arrives after the first revocation is refused as revoked without revoking again.
      const revocations = harness.events.filter((e) => e.type === 'grant.revoked' && e.grantId === grantId).length;
      const replays = harness.events.filter((e) => e.type === 'authorization_code.replayed' && e.grantId === grantId).length;
      expect(revocations).toBeGreaterThanOrEqual(1);
      expect(revocations).toBe(replays);
      expect(replays).toBeLessThanOrEqual(PARALLEL - 1);
      expect(await harness.storage.isGrantRevoked(grantId)).toBe(true);
    });
  });
});

describe('createTokenRouter sharing one storage (two instances)', () => {
  it('a code minted by one instance is redeemed at another, exactly once', async () => {
    const storage = createMemoryStorage();
    const a = createCodeTestApp({ storage });
    const b = createCodeTestApp({ storage });
    const { code, grantId } = await a.tokenRouter.issueAuthorizationCode(codeInput());
    expect((await redeem(b.app, { code, redirect_uri: WEB_REDIRECT })).status).toBe(200);
    expect((await redeem(a.app, { code, redirect_uri: WEB_REDIRECT })).body.error).toBe('invalid_grant');
    expect(await storage.isGrantRevoked(grantId)).toBe(true);
    storage.close();
  });

  it('refuses a storage without the code methods at startup', () => {
    expect(() =>
      createTokenRouter({
        issuer: ISSUER,
        signingKeys: [{ kid: 'k', privateKey: rsaKey().privateKey }],
        clients: createMemoryClientRegistry([]),
        storage: {},
        grants: [authorizationCode()],
      }),
    ).toThrow(ConfigurationError);
  });
});
