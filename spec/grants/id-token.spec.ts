// spec/grants/id-token.spec.ts
// OpenID Connect ID tokens from the authorization_code grant (OIDC Core §2, §3.1.3.6) and
// pairwise subject identifiers (OIDC Core §8) (security model rules J84, J86, K87–K97).

import jwt from 'jsonwebtoken';
import { createMemoryClientRegistry, hashOpaqueToken, type MemoryClientDefinition, type MemoryStorage } from '../../lib';
import { CODE_CLIENTS, createCodeTestApp, decodeJwt, ISSUER, SERVICE_SECRET, type CodeTestApp } from '../helpers/create-app';
import { codeInput, leftHalfHash, publishedKey, redeem, seconds, type Caller } from '../helpers/code-flow';
import { configurationErrorOf, expectInvalidRecord, expectLoggedInvalidRecord, hostRecord, hostRegistry, rejectionOf } from '../helpers/host-registry';
import { rsaKey, keyPair } from '../helpers/keys';
import type { IdTokenClaimsContext } from '../../lib';

/** Mints a code with `input` and redeems it; returns the response body's tokens, decoded. */
async function login(harness: CodeTestApp, input: Parameters<typeof codeInput>[0] = {}, caller?: Caller) {
  const minted = codeInput(input);
  const { code } = await harness.tokenRouter.issueAuthorizationCode(minted);
  const res = await redeem(harness.app, { code, redirect_uri: minted.redirectUri }, caller ?? { id: minted.clientId, secret: SERVICE_SECRET });
  expect(res.status).toBe(200);
  const body = res.body as { access_token: string; id_token?: string };
  return { res, accessToken: body.access_token, idToken: body.id_token, at: decodeJwt(body.access_token), id: body.id_token === undefined ? undefined : decodeJwt(body.id_token) };
}

describe('the ID token (RS256)', () => {
  const hookCalls: IdTokenClaimsContext[] = [];
  const harness = createCodeTestApp({
    idToken: {
      claims: (context) => {
        hookCalls.push(context);
        return { tnuid: 'tn-1', sub: 'hook-sub', nonce: 'hook-nonce', aud: ['evil'], iss: 'https://evil.test', at_hash: 'x', azp: 'evil', empty: null };
      },
    },
  });
  const { clock, tokenRouter } = harness;

  beforeEach(() => { hookCalls.length = 0; });

  it('header: alg RS256, kid of the signing key, typ "JWT" (never at+jwt)', async () => {
    const { id } = await login(harness);
    expect(id?.header).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'test-key' });
  });

  it('has every claim of the login, at_hash, host claims, and nothing protected taken from the host', async () => {
    const authTime = seconds(clock()) - 120;
    const { id, accessToken } = await login(harness, {
      authTime, nonce: 'n-0S6_WzA2Mj', acr: 'urn:acr:2', amr: ['pwd', 'otp'], sid: 'sid-1',
      claims: { id_token: { name: 'Ann', email: 'ann@example.com', sub: 'minted-sub', nonce: 'minted-nonce', aud: 'minted-aud', exp: 1, auth_time: 2, sid: 'x' } },
    });
    const iat = seconds(clock());
    expect(id?.payload).toEqual({
      iss: ISSUER,
      sub: 'user-1',
      aud: 'web',
      iat,
      nbf: iat,
      exp: iat + 300,
      auth_time: authTime,
      nonce: 'n-0S6_WzA2Mj',
      acr: 'urn:acr:2',
      amr: ['pwd', 'otp'],
      sid: 'sid-1',
      at_hash: leftHalfHash(accessToken, 'sha256'),
      name: 'Ann',
      email: 'ann@example.com',
      tnuid: 'tn-1',
      grant_id: expect.any(String),
    });
    expect(leftHalfHash(accessToken, 'sha256')).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('aud is the client_id as a plain string, and there is no azp', async () => {
    const { id } = await login(harness);
    expect(typeof id?.payload.aud).toBe('string');
    expect(id?.payload.aud).toBe('web');
    expect('azp' in (id?.payload ?? {})).toBe(false);
  });

  it('leaves nonce, auth_time, acr, amr and sid out (not null) when the code had none', async () => {
    const { id } = await login(harness, { amr: [] });
    for (const claim of ['nonce', 'auth_time', 'acr', 'amr', 'sid']) expect(claim in (id?.payload ?? {})).toBe(false);
    expect(Object.values(id?.payload ?? {})).not.toContain(null);
  });

  it('iat/exp follow the injected clock, as integers, exp > iat', async () => {
    clock.advance(3_600_500);
    const { id } = await login(harness);
    const { iat, exp } = id?.payload as { iat: number; exp: number };
    expect(iat).toBe(seconds(clock()));
    expect(Number.isInteger(iat) && Number.isInteger(exp)).toBe(true);
    expect(exp).toBeGreaterThan(iat);
  });

  it('the claims hook sees the client, grant, both subjects, scope and session', async () => {
    await login(harness, { scope: 'openid profile', sid: 'sid-9' });
    expect(hookCalls).toHaveLength(1);
    expect(hookCalls[0]).toMatchObject({ grantType: 'authorization_code', subject: 'user-1', localSubject: 'user-1', scope: ['openid', 'profile'], session: expect.objectContaining({ subject: 'user-1', sid: 'sid-9' }) });
    expect(hookCalls[0].client.client_id).toBe('web');
  });

  it('is not issued (and the hook not called) without openid', async () => {
    const { idToken } = await login(harness, { scope: 'api:read' });
    expect(idToken).toBeUndefined();
    expect(hookCalls).toHaveLength(0);
  });

  it('verifies against the key published in tokenRouter.jwks()', async () => {
    const { idToken } = await login(harness, { nonce: 'n-1' });
    const verified = jwt.verify(idToken ?? '', publishedKey(tokenRouter, 'test-key'), {
      algorithms: ['RS256'],
      issuer: ISSUER,
      audience: 'web',
      nonce: 'n-1',
      clockTimestamp: seconds(clock()),
    }) as jwt.JwtPayload;
    expect(verified.sub).toBe('user-1');
  });

  it('the access token and the ID token carry the same sub, and only the access token is at+jwt', async () => {
    const { id, at } = await login(harness);
    expect(at.payload.sub).toBe(id?.payload.sub);
    expect(at.header.typ).toBe('at+jwt');
    expect(id?.header.typ).toBe('JWT');
  });

  it('idToken.ttl changes exp − iat', async () => {
    const longer = createCodeTestApp({ idToken: { ttl: 900 } });
    const { id } = await login(longer);
    expect((id?.payload.exp as number) - (id?.payload.iat as number)).toBe(900);
  });
});

describe('the ID token with an ES384 key', () => {
  const { privateKey } = keyPair('ec', { namedCurve: 'P-384' });
  const harness = createCodeTestApp({ signingKeys: [{ kid: 'ec-384', alg: 'ES384', privateKey }, { kid: 'old-rsa', alg: 'RS256', privateKey: rsaKey().privateKey }] });

  it('is signed ES384 with the first key, and at_hash uses SHA-384 (24 bytes → 32 characters)', async () => {
    const { id, accessToken, idToken } = await login(harness);
    expect(id?.header).toEqual({ alg: 'ES384', typ: 'JWT', kid: 'ec-384' });
    expect(id?.payload.at_hash).toBe(leftHalfHash(accessToken, 'sha384'));
    expect(id?.payload.at_hash).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(id?.payload.at_hash).not.toBe(leftHalfHash(accessToken, 'sha256'));
    const verified = jwt.verify(idToken ?? '', publishedKey(harness.tokenRouter, 'ec-384'), { algorithms: ['ES384'], audience: 'web', clockTimestamp: seconds(harness.clock()) }) as jwt.JwtPayload;
    expect(verified.iss).toBe(ISSUER);
    expect(() => jwt.verify(idToken ?? '', publishedKey(harness.tokenRouter, 'old-rsa'), { algorithms: ['RS256', 'ES384'], clockTimestamp: seconds(harness.clock()) })).toThrow();
  });
});

describe('pairwise subjects (OIDC Core §8)', () => {
  const SALT = 'pairwise-salt-0123456789abcdef-0123456789';
  const pairwise = (definition: Omit<MemoryClientDefinition, 'client_secret' | 'subject_type' | 'grant_types' | 'scope'>): MemoryClientDefinition => ({
    client_secret: SERVICE_SECRET, grant_types: ['authorization_code'], scope: 'openid api:read', subject_type: 'pairwise', ...definition,
  });
  const clients: MemoryClientDefinition[] = [
    ...CODE_CLIENTS,
    pairwise({ client_id: 'pw-a', redirect_uris: ['https://a.example.com/cb'] }),
    pairwise({ client_id: 'pw-a2', redirect_uris: ['https://a.example.com/other', 'https://a.example.com/cb2'] }),
    pairwise({ client_id: 'pw-b', redirect_uris: ['https://b.example.net/cb'] }),
    pairwise({ client_id: 'pw-sector', redirect_uris: ['https://x.example.org/cb', 'https://y.example.org/cb'], sector_identifier_uri: 'https://a.example.com/sector.json' }),
    { client_id: 'pub', client_secret: SERVICE_SECRET, grant_types: ['authorization_code'], scope: 'openid', subject_type: 'public', redirect_uris: ['https://a.example.com/cb'] },
  ];
  // Refused by every registry: redirect URIs on two hosts and no sector_identifier_uri (OIDC Core §8.1).
  const spread = pairwise({ client_id: 'pw-spread', redirect_uris: ['https://x.example.org/cb', 'https://y.example.org/cb'] });
  const SPREAD_PROBLEM = /^subject_type is "pairwise" but redirect_uris span 2 hosts; register a sector_identifier_uri \(OIDC Core §8\.1\)$/;
  const byId = (id: string): MemoryClientDefinition => {
    const found = clients.find((client) => client.client_id === id);
    if (!found) throw new Error(id);
    return found;
  };
  const harness = createCodeTestApp({ subjects: { pairwiseSalt: SALT } }, clients);
  const subAt = async (clientId: string, subject = 'user-1') => {
    const client = byId(clientId);
    const { at, id } = await login(harness, { clientId, redirectUri: client.redirect_uris?.[0] ?? '', subject, scope: 'openid' });
    expect(at.payload.sub).toBe(id?.payload.sub);
    return id?.payload.sub as string;
  };

  it('the same user gets the same sub at one client across two logins, and it is not the local subject', async () => {
    const first = await subAt('pw-a');
    const second = await subAt('pw-a');
    expect(first).toBe(second);
    expect(first).not.toBe('user-1');
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('different users get different subs at one client', async () => {
    expect(await subAt('pw-a', 'user-1')).not.toBe(await subAt('pw-a', 'user-2'));
  });

  it('two pairwise clients on different redirect hosts get different subs', async () => {
    expect(await subAt('pw-a')).not.toBe(await subAt('pw-b'));
  });

  it('two clients on the same redirect host share a sector, so the same sub', async () => {
    expect(await subAt('pw-a2')).toBe(await subAt('pw-a'));
  });

  it('a sector_identifier_uri on that host joins the same sector', async () => {
    expect(await subAt('pw-sector')).toBe(await subAt('pw-a'));
  });

  it('a public-subject client gets the raw subject', async () => {
    expect(await subAt('pub')).toBe('user-1');
    expect(await subAt('web')).toBe('user-1');
  });

  it('access token and ID token carry the same pairwise sub, and the hook context has both subjects', async () => {
    const seen: IdTokenClaimsContext[] = [];
    const hooked = createCodeTestApp({ subjects: { pairwiseSalt: SALT }, idToken: { claims: (context) => { seen.push(context); return undefined; } } }, clients);
    const { at, id } = await login(hooked, { clientId: 'pw-b', redirectUri: 'https://b.example.net/cb' });
    expect(at.payload.sub).toBe(id?.payload.sub);
    expect(seen[0]).toMatchObject({ subject: id?.payload.sub, localSubject: 'user-1' });
  });

  it('tokenRouter.subjectFor agrees with the tokens', async () => {
    expect(harness.tokenRouter.subjectFor(byId('pw-a'), 'user-1')).toBe(await subAt('pw-a'));
    expect(harness.tokenRouter.subjectFor(byId('pw-sector'), 'user-7')).toBe(await subAt('pw-sector', 'user-7'));
    expect(harness.tokenRouter.subjectFor(byId('pub'), 'user-1')).toBe('user-1');
  });

  it('the salt matters: another salt gives other subs', async () => {
    const other = createCodeTestApp({ subjects: { pairwiseSalt: `${SALT}-other` } }, clients);
    expect(other.tokenRouter.subjectFor(byId('pw-a'), 'user-1')).not.toBe(harness.tokenRouter.subjectFor(byId('pw-a'), 'user-1'));
  });

  it('a pairwise client with redirect URIs on two hosts and no sector_identifier_uri is refused when the memory registry is built', () => {
    const error = configurationErrorOf(() => createMemoryClientRegistry([...clients, spread]));
    expect(error.code).toBe('ERR_TOKEN_ROUTER_CLIENT');
    expect(error.problems).toEqual([
      `clients[${clients.length}].subject_type is "pairwise" but redirect_uris span 2 hosts; register a sector_identifier_uri (OIDC Core §8.1).`,
    ]);
    expect(() => createMemoryClientRegistry([...clients, { ...spread, sector_identifier_uri: 'https://x.example.org/sector.json' }])).not.toThrow();
    expect(() => harness.tokenRouter.subjectFor(spread, 'user-1')).toThrow(/sector_identifier_uri/);
  });

  it('a pairwise client with redirect URIs on two hosts and no sector_identifier_uri from a host registry cannot get a code minted', async () => {
    const hosted = createCodeTestApp({ subjects: { pairwiseSalt: SALT }, clients: hostRegistry({ 'pw-spread': hostRecord(spread) }) }, []);
    const error = await rejectionOf(hosted.tokenRouter.issueAuthorizationCode(codeInput({ clientId: 'pw-spread', redirectUri: 'https://x.example.org/cb', scope: 'openid' })));
    expect(String(error)).toMatch(/sector_identifier_uri/);
    expectInvalidRecord(error, 'pw-spread', SPREAD_PROBLEM);
    expect((hosted.storage as MemoryStorage).size().codes).toBe(0);
  });

  it('a pairwise client without a configured salt is a startup error naming the client and the field', () => {
    const error = configurationErrorOf(() => createCodeTestApp({}, clients));
    expect(error.code).toBe('ERR_TOKEN_ROUTER_OPTIONS');
    const pairwiseIds = clients.filter((client) => client.subject_type === 'pairwise').map((client) => client.client_id);
    expect(pairwiseIds).toContain('pw-a');
    expect(error.problems).toEqual(pairwiseIds.map((id) => `clients[${JSON.stringify(id)}].subject_type is "pairwise" but the router has no subjects.pairwiseSalt`));
  });

  it('a pairwise client without a configured salt cannot get a code minted from a host registry', async () => {
    const unsalted = createCodeTestApp({ clients: hostRegistry({ 'pw-a': hostRecord(byId('pw-a')) }) }, []);
    const error = await rejectionOf(unsalted.tokenRouter.issueAuthorizationCode(codeInput({ clientId: 'pw-a', redirectUri: 'https://a.example.com/cb', scope: 'openid' })));
    expect(String(error)).toMatch(/pairwiseSalt/);
    expectInvalidRecord(error, 'pw-a', /^subject_type is "pairwise" but the router has no subjects\.pairwiseSalt$/);
    expect((unsalted.storage as MemoryStorage).size().codes).toBe(0);
  });

  it('a code minted before the misconfiguration → 500 server_error, logged, and the code is not burnt', async () => {
    // The code is minted while the host's record is still well configured (with a sector_identifier_uri) …
    const wellConfigured = hostRecord({ ...spread, sector_identifier_uri: 'https://x.example.org/sector.json' });
    const records: Record<string, object> = { 'pw-spread': wellConfigured };
    const hosted = createCodeTestApp({ subjects: { pairwiseSalt: SALT }, clients: hostRegistry(records) }, []);
    const minted = codeInput({ clientId: 'pw-spread', redirectUri: 'https://y.example.org/cb', scope: 'openid' });
    const { code } = await hosted.tokenRouter.issueAuthorizationCode(minted);
    // … then the host's client table loses it.
    records['pw-spread'] = hostRecord(spread);
    hosted.logged.length = 0;
    for (let i = 0; i < 2; i += 1) {
      const res = await redeem(hosted.app, { code, redirect_uri: 'https://y.example.org/cb' }, { id: 'pw-spread', secret: SERVICE_SECRET });
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ error: 'server_error' });
      expect(res.headers['cache-control']).toBe('no-store');
    }
    expect(hosted.logged).toContainEqual(expect.objectContaining({ level: 'error', details: expect.objectContaining({ errorMessage: expect.stringMatching(/sector_identifier_uri/) }) }));
    expectLoggedInvalidRecord(hosted.logged, 'pw-spread', /subject_type is "pairwise" but redirect_uris span 2 hosts/, 2);
    expect(hosted.events.some((event) => event.type === 'token.issued')).toBe(false);
    expect((await hosted.storage.findAuthorizationCode(hashOpaqueToken(code)))?.consumedAt).toBeUndefined();
    // Not burnt: once the record is fixed, the same code redeems.
    records['pw-spread'] = wellConfigured;
    const fixed = await redeem(hosted.app, { code, redirect_uri: 'https://y.example.org/cb' }, { id: 'pw-spread', secret: SERVICE_SECRET });
    expect(fixed.status).toBe(200);
  });

  // OIDC Core §8.1 names the host component (RFC 3986 host, without port).
  it('redirect URIs differing only by port are one sector (host component, not host:port)', async () => {
    const portClients: MemoryClientDefinition[] = [
      ...clients,
      pairwise({ client_id: 'pw-ports', redirect_uris: ['https://a.example.com/cb', 'https://a.example.com:8443/cb'] }),
    ];
    const ports = createCodeTestApp({ subjects: { pairwiseSalt: SALT } }, portClients);
    const { id } = await login(ports, { clientId: 'pw-ports', redirectUri: 'https://a.example.com:8443/cb', scope: 'openid' });
    expect(id?.payload.sub).toBe(harness.tokenRouter.subjectFor(byId('pw-a'), 'user-1'));
  });
});
