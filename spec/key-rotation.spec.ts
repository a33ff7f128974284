// spec/key-rotation.spec.ts
// Signing key rotation (issue #8; security model rules J80, K95, P128): key statuses next → active →
// retiring, tokenRouter.setSigningKeys as the one-call rotation, and the three-step rollout
// over several instances. Every token is verified against the JWKS as served over HTTP.
import { createPublicKey, type KeyObject } from 'node:crypto';
import express, { type Express } from 'express';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { ConfigurationError, createMemoryClientRegistry, createMemoryStorage, createTokenRouter, type MemoryStorage, type TokenRouter, type TokenRouterOptions } from '../lib';
import { basic, CODE_CLIENTS, createClock, decodeJwt, ISSUER, SERVICE_SECRET, type TestClock } from './helpers/create-app';
import { codeInput, leftHalfHash, redeem, seconds } from './helpers/code-flow';
import { rsaKey, keyPair } from './helpers/keys';
import type { PublicJwk, SigningKeyInput } from '../lib';

// Three keys of three algorithms (mixed algs in one set are allowed).
const A = rsaKey().privateKey; // RS256
const B = keyPair('ec', { namedCurve: 'P-256' }).privateKey; // ES256
const C = keyPair('ec', { namedCurve: 'P-384' }).privateKey; // ES384

const key = {
  A: (status?: SigningKeyInput['status']): SigningKeyInput => ({ kid: 'key-a', alg: 'RS256', privateKey: A, ...(status && { status }) }),
  B: (status?: SigningKeyInput['status']): SigningKeyInput => ({ kid: 'key-b', alg: 'ES256', privateKey: B, ...(status && { status }) }),
  C: (status?: SigningKeyInput['status']): SigningKeyInput => ({ kid: 'key-c', alg: 'ES384', privateKey: C, ...(status && { status }) }),
};

interface Instance {
  readonly app: Express;
  readonly tokenRouter: TokenRouter;
  readonly warnings: string[];
}

/** One host instance: the token router at /connect and wellKnown at the root, on a shared storage and clock. */
function instance(storage: MemoryStorage, clock: TestClock, signingKeys: readonly SigningKeyInput[], overrides: Partial<TokenRouterOptions> = {}): Instance {
  const warnings: string[] = [];
  const tokenRouter = createTokenRouter({
    issuer: ISSUER,
    signingKeys,
    clients: createMemoryClientRegistry(CODE_CLIENTS),
    storage,
    rateLimit: false,
    clock,
    logger: { warn: (message) => warnings.push(message), error: (message) => { throw new Error(`unexpected error log: ${message}`); } },
    ...overrides,
  });
  const app = express();
  app.use('/connect', tokenRouter);
  app.use(tokenRouter.wellKnown);
  return { app, tokenRouter, warnings };
}

/** The JWKS as a relying party gets it: over HTTP from the wellKnown router. */
async function fetchJwks(app: Express): Promise<PublicJwk[]> {
  const res = await request(app).get('/.well-known/jwks.json');
  expect(res.status).toBe(200);
  expect(res.headers['cache-control']).toBe('public, max-age=300');
  return (res.body as { keys: PublicJwk[] }).keys;
}

/**
 * Verifies `token` as a relying party does: the key is chosen by the header's kid in the fetched
 * JWKS, the algorithm is the JWK's own, the signature and exp are checked by jsonwebtoken (an
 * independent JWS implementation). Throws if the kid is not published or the signature fails.
 */
function verifyAgainst(jwks: readonly PublicJwk[], token: string, clock: TestClock): string {
  const { header } = decodeJwt(token);
  const jwk = jwks.find((candidate) => candidate.kid === header.kid);
  if (!jwk) throw new Error(`kid ${String(header.kid)} is not in the JWKS (${jwks.map((k) => k.kid).join(', ')})`);
  const publicKey: KeyObject = createPublicKey({ key: jwk, format: 'jwk' });
  jwt.verify(token, publicKey, { algorithms: [jwk.alg], issuer: ISSUER, clockTimestamp: seconds(clock()) });
  return jwk.kid;
}

/** A client_credentials access token. */
async function accessToken(app: Express): Promise<string> {
  const res = await request(app).post('/connect/token').set('Authorization', basic('service', SERVICE_SECRET)).type('form').send('grant_type=client_credentials&scope=api:read');
  expect(res.status).toBe(200);
  return res.body.access_token as string;
}

/** An authorization_code login: the code is minted by `minter` and redeemed at `redeemer` (they may be different instances). */
async function login(minter: Instance, redeemer: Instance = minter): Promise<{ accessToken: string; idToken: string }> {
  const { code } = await minter.tokenRouter.issueAuthorizationCode(codeInput());
  const res = await redeem(redeemer.app, { code, redirect_uri: codeInput().redirectUri });
  expect(res.status).toBe(200);
  return { accessToken: res.body.access_token as string, idToken: res.body.id_token as string };
}

const kidOf = (token: string) => decodeJwt(token).header.kid;
/** Warnings about rotation (the RS256 advice is logged whenever a set has no RS256 key). */
const rotationWarnings = (host: Instance) => host.warnings.filter((warning) => !/No RS256 signing key/.test(warning));

function configurationError(run: () => unknown): ConfigurationError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error('expected a ConfigurationError');
}

let storage: MemoryStorage;
let clock: TestClock;
beforeEach(() => {
  clock = createClock();
  storage = createMemoryStorage({ clock });
});
afterEach(() => storage.close());

describe('one router: rotation with setSigningKeys', () => {
  it('signs with A, rotates (A retiring, B active) in one call; old and new tokens verify against the served JWKS, only B signs', async () => {
    const host = instance(storage, clock, [key.A('active')]);
    const before = { at: await accessToken(host.app), ...(await login(host)) };
    expect([kidOf(before.at), kidOf(before.accessToken), kidOf(before.idToken)]).toEqual(['key-a', 'key-a', 'key-a']);

    host.tokenRouter.setSigningKeys([key.A('retiring'), key.B('active')]);

    const after = { at: await accessToken(host.app), ...(await login(host)) };
    expect([kidOf(after.at), kidOf(after.accessToken), kidOf(after.idToken)]).toEqual(['key-b', 'key-b', 'key-b']);
    expect(decodeJwt(after.idToken).header).toEqual({ alg: 'ES256', typ: 'JWT', kid: 'key-b' });
    expect(decodeJwt(after.at).header).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: 'key-b' });
    // at_hash follows the alg of the key that signed the ID token.
    expect(decodeJwt(after.idToken).payload.at_hash).toBe(leftHalfHash(after.accessToken, 'sha256'));

    const jwks = await fetchJwks(host.app);
    expect(jwks.map((jwk) => [jwk.kid, jwk.alg])).toEqual([['key-b', 'ES256'], ['key-a', 'RS256']]);
    for (const token of [before.at, before.accessToken, before.idToken]) expect(verifyAgainst(jwks, token, clock)).toBe('key-a');
    for (const token of [after.at, after.accessToken, after.idToken]) expect(verifyAgainst(jwks, token, clock)).toBe('key-b');
  });

  it('jwks(), metadata() and the served documents switch together; id_token_signing_alg_values_supported lists every published alg, the active one first', async () => {
    const host = instance(storage, clock, [key.A('active')]);
    const oldMetadata = host.tokenRouter.metadata();
    expect(oldMetadata.id_token_signing_alg_values_supported).toEqual(['RS256']);

    host.tokenRouter.setSigningKeys([key.A('retiring'), key.C('next'), key.B('active')]);

    const served = await request(host.app).get('/.well-known/openid-configuration');
    expect(served.body.id_token_signing_alg_values_supported).toEqual(['ES256', 'ES384', 'RS256']);
    expect(served.body).toEqual(host.tokenRouter.metadata());
    expect(Object.isFrozen(host.tokenRouter.metadata())).toBe(true);
    expect({ ...host.tokenRouter.metadata(), id_token_signing_alg_values_supported: 'x' }).toEqual({ ...oldMetadata, id_token_signing_alg_values_supported: 'x' });
    // Publishing order: active, next, retiring.
    expect((await fetchJwks(host.app)).map((jwk) => jwk.kid)).toEqual(['key-b', 'key-c', 'key-a']);
    expect(host.tokenRouter.jwks().keys).toEqual(await fetchJwks(host.app));
    expect(oldMetadata.id_token_signing_alg_values_supported).toEqual(['RS256']); // a snapshot handed out before stays as it was
  });

  it('a next key is published but never signs (access tokens, ID tokens)', async () => {
    const host = instance(storage, clock, [key.C('next'), key.A('active')]);
    const jwks = await fetchJwks(host.app);
    expect(jwks.map((jwk) => jwk.kid)).toEqual(['key-a', 'key-c']);
    expect(host.tokenRouter.metadata().id_token_signing_alg_values_supported).toEqual(['RS256', 'ES384']);
    for (let i = 0; i < 3; i += 1) {
      const { accessToken: at, idToken } = await login(host);
      expect([kidOf(await accessToken(host.app)), kidOf(at), kidOf(idToken)]).toEqual(['key-a', 'key-a', 'key-a']);
    }
  });

  it('an ID token whose issuance started before the rotation is signed by the key active when it is signed', async () => {
    let release: () => void = () => undefined;
    let entered: () => void = () => undefined;
    const held = new Promise<void>((resolve) => { release = resolve; });
    const inHook = new Promise<void>((resolve) => { entered = resolve; });
    const host = instance(storage, clock, [key.A('active'), key.B('next')], {
      idToken: { claims: async () => { entered(); await held; return {}; } },
    });
    const { code } = await host.tokenRouter.issueAuthorizationCode(codeInput());
    const pending = redeem(host.app, { code, redirect_uri: codeInput().redirectUri }).then((res) => res);
    await inHook; // the access token is signed (by A); the ID token waits for the hook
    host.tokenRouter.setSigningKeys([key.A('retiring'), key.B('active')]);
    release();
    const res = await pending;
    expect(res.status).toBe(200);
    expect(kidOf(res.body.access_token)).toBe('key-a');
    expect(kidOf(res.body.id_token)).toBe('key-b');
    expect(decodeJwt(res.body.id_token).payload.at_hash).toBe(leftHalfHash(res.body.access_token, 'sha256'));
    const jwks = await fetchJwks(host.app);
    verifyAgainst(jwks, res.body.id_token, clock);
    verifyAgainst(jwks, res.body.access_token, clock);
  });

  it('a failed setSigningKeys throws ERR_TOKEN_ROUTER_SIGNING_KEY and keeps the old set (signer, JWKS, metadata)', async () => {
    const host = instance(storage, clock, [key.A('active'), key.B('next')]);
    const jwksBefore = await fetchJwks(host.app);
    const metadataBefore = host.tokenRouter.metadata();
    const error = configurationError(() => host.tokenRouter.setSigningKeys([key.A('retiring'), key.B('active'), key.C('active')]));
    expect(error.code).toBe('ERR_TOKEN_ROUTER_SIGNING_KEY');
    expect(error.problems).toEqual([expect.stringMatching(/^setSigningKeys: keys has 2 active keys \(keys\[1\], keys\[2\]\); exactly one key signs/)]);
    expect(await fetchJwks(host.app)).toEqual(jwksBefore);
    expect(host.tokenRouter.metadata()).toBe(metadataBefore);
    expect(kidOf(await accessToken(host.app))).toBe('key-a');
  });

  it('refuses a kid that the current set publishes for a different key', () => {
    const host = instance(storage, clock, [key.A('active')]);
    const error = configurationError(() => host.tokenRouter.setSigningKeys([{ kid: 'key-a', alg: 'ES256', privateKey: B, status: 'active' }]));
    expect(error.message).toMatch(/kid "key-a" is published now for a different key or alg; .*give a new key a new kid/);
    expect(host.tokenRouter.jwks().keys.map((jwk) => jwk.alg)).toEqual(['RS256']);
  });

  it('warns when a key becomes active without having been published first (skipping the next step)', () => {
    const host = instance(storage, clock, [key.A('active')]);
    host.tokenRouter.setSigningKeys([key.A('retiring'), key.B('active')]);
    expect(rotationWarnings(host)).toEqual([expect.stringMatching(/key "key-b" signs now but was not published before\. .*300 s.*'next'/)]);
    host.warnings.length = 0;
    host.tokenRouter.setSigningKeys([key.A('retiring'), key.B('active'), key.C('next')]);
    host.tokenRouter.setSigningKeys([key.A('retiring'), key.B('retiring'), key.C('active')]);
    expect(rotationWarnings(host)).toEqual([]);
  });

  it('warns when a key is dropped before the tokens it signed here expired, not after', () => {
    const host = instance(storage, clock, [key.A('active'), key.B('next')]);
    host.tokenRouter.setSigningKeys([key.A('retiring'), key.B('active')]);
    clock.advance(3599 * 1000); // accessToken.ttl (3600 s) is the longest lifetime
    host.tokenRouter.setSigningKeys([key.B('active')]);
    expect(rotationWarnings(host)).toEqual([expect.stringMatching(/key "key-a" was dropped while tokens it signed here may still be valid \(until 2026-01-01T01:00:00\.000Z/)]);

    const later = instance(storage, clock, [key.A('active'), key.B('next')]);
    later.tokenRouter.setSigningKeys([key.A('retiring'), key.B('active')]);
    clock.advance(3600 * 1000);
    later.tokenRouter.setSigningKeys([key.B('active')]);
    expect(rotationWarnings(later)).toEqual([]);
  });
});

describe('the signingKeys option: statuses', () => {
  it('without statuses the first key is active and the others retiring (published in configured order, never signing)', async () => {
    const host = instance(storage, clock, [key.A(), key.B(), key.C()]);
    expect((await fetchJwks(host.app)).map((jwk) => jwk.kid)).toEqual(['key-a', 'key-b', 'key-c']);
    const { accessToken: at, idToken } = await login(host);
    expect([kidOf(at), kidOf(idToken), kidOf(await accessToken(host.app))]).toEqual(['key-a', 'key-a', 'key-a']);
  });

  it('with statuses, their order in the list does not matter: the active key signs and is published first', async () => {
    const host = instance(storage, clock, [key.C('next'), key.A('retiring'), key.B('active')]);
    expect((await fetchJwks(host.app)).map((jwk) => jwk.kid)).toEqual(['key-b', 'key-c', 'key-a']);
    expect(host.tokenRouter.metadata().id_token_signing_alg_values_supported).toEqual(['ES256', 'ES384', 'RS256']);
    const { accessToken: at, idToken } = await login(host);
    expect([kidOf(at), kidOf(idToken)]).toEqual(['key-b', 'key-b']);
  });

  const invalid: Array<[string, readonly SigningKeyInput[], RegExp]> = [
    ['two active keys', [key.A('active'), key.B('active')], /has 2 active keys \((signingKeys|keys)\[0\], (signingKeys|keys)\[1\]\); exactly one key signs: keep one 'active' and mark the others 'next' .* or 'retiring'/],
    ['no active key among statuses', [key.A('retiring'), key.B('next')], /has no active key; mark exactly one key status: 'active'/],
    ['an unknown status', [key.A('active'), { ...key.B(), status: 'live' as SigningKeyInput['status'] }], /\[1\]\.status must be 'next', 'active' or 'retiring' \(got "live"\)/],
    ['a status on some keys only', [key.A(), key.B('next')], /\[0\]\.status is missing: once any key has a status, every key needs one/],
    ['a duplicate kid', [key.A('active'), { ...key.B('retiring'), kid: 'key-a' }], /\[1\]\.kid "key-a" is used twice; key ids must be unique/],
  ];

  it.each(invalid)('the option refuses %s, naming the option path', (_name, signingKeys, message) => {
    const error = configurationError(() => instance(storage, clock, signingKeys));
    expect(error.code).toBe('ERR_TOKEN_ROUTER_OPTIONS');
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/signingKeys/);
  });

  it.each(invalid)('setSigningKeys refuses %s and keeps the old set', async (_name, keys, message) => {
    const host = instance(storage, clock, [key.A('active'), key.C('retiring')]);
    const error = configurationError(() => host.tokenRouter.setSigningKeys(keys));
    expect(error.code).toBe('ERR_TOKEN_ROUTER_SIGNING_KEY');
    expect(error.message).toMatch(message);
    expect(error.problems.every((problem) => problem.startsWith('setSigningKeys: keys'))).toBe(true);
    expect((await fetchJwks(host.app)).map((jwk) => jwk.kid)).toEqual(['key-a', 'key-c']);
    expect(kidOf(await accessToken(host.app))).toBe('key-a');
  });

  it('setSigningKeys refuses an empty set or a non-array', () => {
    const host = instance(storage, clock, [key.A('active')]);
    expect(configurationError(() => host.tokenRouter.setSigningKeys([])).message).toMatch(/keys must be a non-empty array/);
    expect(configurationError(() => host.tokenRouter.setSigningKeys(undefined as unknown as SigningKeyInput[])).message).toMatch(/keys must be a non-empty array/);
    expect(host.tokenRouter.jwks().keys.map((jwk) => jwk.kid)).toEqual(['key-a']);
  });
});

describe('several instances (two apps on one storage): the three-step rollout', () => {
  type Move = readonly [instance: 'x' | 'y', keys: readonly SigningKeyInput[]];
  const step1 = [key.A('active'), key.B('next')];
  const step2 = [key.A('retiring'), key.B('active')];
  const step3 = [key.B('active')];
  const TTL_MS = 3600 * 1000; // accessToken.ttl, the longest token lifetime here

  // Each schedule applies the three steps to both instances, in different orders. Between the
  // moves of one step the instances disagree; tokens from either must still verify everywhere.
  const schedules: Array<[string, Move[]]> = [
    ['x leads every step', [['x', step1], ['y', step1], ['x', step2], ['y', step2], ['x', step3], ['y', step3]]],
    ['y leads step 1 and 3, x leads step 2', [['y', step1], ['x', step1], ['x', step2], ['y', step2], ['y', step3], ['x', step3]]],
    ['y leads every step', [['y', step1], ['x', step1], ['y', step2], ['x', step2], ['y', step3], ['x', step3]]],
  ];

  it.each(schedules)('%s: every live token verifies against both instances\' JWKS; each instance signs only with its active key', async (_name, moves) => {
    const x = instance(storage, clock, [key.A('active')]);
    const y = instance(storage, clock, [key.A('active')]);
    const byName = { x, y };
    const active = { x: 'key-a', y: 'key-a' };
    const issued: Array<{ token: string; expiresAt: number }> = [];

    /** Tokens from both instances, including cross-instance code redemption (code minted on one, redeemed on the other). */
    async function issueEverywhere(): Promise<void> {
      for (const [name, other] of [['x', 'y'], ['y', 'x']] as const) {
        const self = byName[name];
        const at = await accessToken(self.app);
        const { accessToken: codeAt, idToken } = await login(byName[other], self);
        for (const token of [at, codeAt, idToken]) {
          expect({ name, kid: kidOf(token) }).toEqual({ name, kid: active[name] });
          issued.push({ token, expiresAt: Number(decodeJwt(token).payload.exp) * 1000 });
        }
      }
    }

    async function verifyLiveTokensEverywhere(): Promise<void> {
      const jwksX = await fetchJwks(x.app);
      const jwksY = await fetchJwks(y.app);
      for (const { token } of issued.filter((entry) => entry.expiresAt > clock())) {
        verifyAgainst(jwksX, token, clock);
        verifyAgainst(jwksY, token, clock);
      }
    }

    await issueEverywhere();
    for (const [index, [name, keys]] of moves.entries()) {
      if (keys === step3 && moves.findIndex(([, k]) => k === step3) === index) {
        // Step 3 waits until every token the retiring key signed has expired.
        clock.advance(TTL_MS);
      } else if (keys === step2 && moves.findIndex(([, k]) => k === step2) === index) {
        clock.advance(300 * 1000); // step 2 waits the JWKS cache lifetime after step 1
      }
      byName[name].tokenRouter.setSigningKeys(keys);
      active[name] = keys.find((entry) => entry.status === 'active')?.kid ?? '';
      await issueEverywhere();
      await verifyLiveTokensEverywhere();
    }
    expect(active).toEqual({ x: 'key-b', y: 'key-b' });
    expect(issued.some((entry) => kidOf(entry.token) === 'key-a')).toBe(true);
    expect([...rotationWarnings(x), ...rotationWarnings(y)]).toEqual([]);
  });

  it('skipping step 1 breaks verification on the other instance (and warns): why next comes first', async () => {
    const x = instance(storage, clock, [key.A('active')]);
    const y = instance(storage, clock, [key.A('active')]);
    x.tokenRouter.setSigningKeys(step2);
    const token = await accessToken(x.app);
    expect(kidOf(token)).toBe('key-b');
    expect(() => verifyAgainst(jwksOf(y), token, clock)).toThrow(/kid key-b is not in the JWKS/);
    expect(x.warnings).toContainEqual(expect.stringMatching(/not published before/));
  });

  const jwksOf = (host: Instance) => host.tokenRouter.jwks().keys;
});
