// spec/seams/client-auth-methods.spec.ts
// The client-authentication seam (`clientAuthentication.methods`): a host's own method gets the
// same treatment as the built-ins — one invalid_client answer with the reason in the event, no
// mixing of methods, single-use values through the storage (also 20 in parallel on a latency
// store), discovery, the contributed endpoints — and is checked at the boundary: a broken method
// or a record it refuses is a startup error, a method that throws or answers nonsense a logged 500.
import { createHmac, randomUUID } from 'node:crypto';
import request from 'supertest';
import {
  ConfigurationError,
  createMemoryClientRegistry,
  createMemoryStorage,
  createTokenRouter,
  revocation,
  type ClientAuthenticationMethod,
  type MemoryClientDefinition,
  type StorageAdapter,
  type TokenRouterOptions,
} from '../../lib';
import { basic, createClock, createTestApp, ISSUER, SERVICE_SECRET } from '../helpers/create-app';
import { rsaKey } from '../helpers/keys';
import { withLatency } from '../helpers/latency-storage';

const NAME = 'example_signed_nonce';
const KEY_A = 'signing-key-of-client-a-0123456789abcdef';
const KEY_B = 'signing-key-of-client-b-0123456789abcdef';

/**
 * A method of the kind a host writes: the client signs a fresh nonce with a key the registry
 * holds (`metadata.signing_key`); each nonce is used once.
 */
const signedNonce: ClientAuthenticationMethod = {
  name: NAME,
  credential: 'client_id',
  checkClient(client) {
    const key = client.metadata?.signing_key;
    return typeof key === 'string' && key.length >= 32 ? [] : ['metadata.signing_key must be a string of at least 32 characters'];
  },
  async authenticate(client, req) {
    const nonce = req.headers['x-client-nonce'];
    const signature = req.headers['x-client-signature'];
    if (typeof nonce !== 'string' || typeof signature !== 'string' || nonce.length > 128) return { authenticated: false, reason: 'invalid_credentials' };
    const expected = createHmac('sha256', String(client.metadata?.signing_key)).update(nonce).digest('base64url');
    if (signature !== expected) return { authenticated: false, reason: 'invalid_credentials' };
    return (await req.recordOneTimeUse(nonce, req.now + 60_000)) ? { authenticated: true } : { authenticated: false, reason: 'invalid_credentials' };
  },
  discovery: { example_signed_nonce_supported: true },
};

const CLIENTS: MemoryClientDefinition[] = [
  { client_id: 'signer-a', token_endpoint_auth_method: NAME, metadata: { signing_key: KEY_A }, grant_types: ['client_credentials'], scope: 'api:read' },
  { client_id: 'signer-b', token_endpoint_auth_method: NAME, metadata: { signing_key: KEY_B }, grant_types: ['client_credentials'], scope: 'api:read' },
  { client_id: 'service', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], scope: 'api:read' },
];

const sign = (key: string, nonce: string) => createHmac('sha256', key).update(nonce).digest('base64url');

function tokenRequest(app: Parameters<typeof request>[0], clientId: string, nonce: string, signature: string, extra: Record<string, string> = {}, authorization?: string) {
  const req = request(app).post('/connect/token').type('form').set('X-Client-Nonce', nonce).set('X-Client-Signature', signature);
  if (authorization) req.set('Authorization', authorization);
  return req.send(new URLSearchParams({ grant_type: 'client_credentials', ...(clientId && { client_id: clientId }), ...extra }).toString());
}

describe('a host method plugged into clientAuthentication.methods', () => {
  const { app, events } = createTestApp({ clientAuthentication: { methods: [signedNonce] }, endpoints: [revocation()] }, CLIENTS);

  it('authenticates its clients: a token, the client in the event', async () => {
    events.length = 0;
    const nonce = randomUUID();
    const res = await tokenRequest(app, 'signer-a', nonce, sign(KEY_A, nonce));
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('Bearer');
    expect(events).toEqual([expect.objectContaining({ type: 'token.issued', clientId: 'signer-a' })]);
  });

  it('a wrong signature is the one invalid_client answer; the reason is only in the event', async () => {
    events.length = 0;
    const nonce = randomUUID();
    const res = await tokenRequest(app, 'signer-a', nonce, sign(KEY_B, nonce));
    const unknown = await tokenRequest(app, 'nobody', nonce, sign(KEY_A, nonce));
    expect(res.status).toBe(401);
    expect(res.body).toEqual(unknown.body);
    expect(res.body).toEqual({ error: 'invalid_client', error_description: 'Client authentication failed.' });
    expect(events[0]).toEqual(expect.objectContaining({ type: 'client.authentication_failed', clientId: 'signer-a', reason: 'invalid_credentials' }));
  });

  it('a replayed nonce is refused through the storage; values are namespaced per client', async () => {
    const nonce = randomUUID();
    expect((await tokenRequest(app, 'signer-a', nonce, sign(KEY_A, nonce))).status).toBe(200);
    expect((await tokenRequest(app, 'signer-a', nonce, sign(KEY_A, nonce))).status).toBe(401);
    // The same value from another client is that client's own first use.
    expect((await tokenRequest(app, 'signer-b', nonce, sign(KEY_B, nonce))).status).toBe(200);
  });

  it('a client of the method cannot use a secret, an assertion, or nothing', async () => {
    events.length = 0;
    const nonce = randomUUID();
    expect((await tokenRequest(app, 'signer-a', nonce, sign(KEY_A, nonce), { client_secret: KEY_A })).status).toBe(401);
    expect((await tokenRequest(app, '', nonce, sign(KEY_A, nonce), {}, basic('signer-a', KEY_A))).status).toBe(401);
    const assertion = await tokenRequest(app, 'signer-a', nonce, sign(KEY_A, nonce), { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: 'a.b.c' });
    expect(assertion.status).toBe(401);
    expect(events.map((e) => e.type === 'client.authentication_failed' && e.reason)).toEqual(['auth_method_not_allowed', 'auth_method_not_allowed', 'auth_method_not_allowed']);
    // The nonce was never spent by the refused requests.
    expect((await tokenRequest(app, 'signer-a', nonce, sign(KEY_A, nonce))).status).toBe(200);
  });

  it('a secret client gains nothing from the method\'s headers', async () => {
    const nonce = randomUUID();
    const res = await tokenRequest(app, 'service', nonce, sign(KEY_A, nonce));
    expect(res.status).toBe(401);
    expect((await request(app).post('/connect/token').type('form').set('Authorization', basic('service', SERVICE_SECRET)).send('grant_type=client_credentials')).status).toBe(200);
  });

  it('works at the contributed endpoints too (revocation)', async () => {
    const first = randomUUID();
    const token = (await tokenRequest(app, 'signer-a', first, sign(KEY_A, first))).body.access_token as string;
    const nonce = randomUUID();
    const res = await request(app).post('/connect/revocation').type('form').set('X-Client-Nonce', nonce).set('X-Client-Signature', sign(KEY_A, nonce)).send(new URLSearchParams({ client_id: 'signer-a', token }).toString());
    expect(res.status).toBe(200);
    const bad = await request(app).post('/connect/revocation').type('form').set('X-Client-Nonce', nonce).set('X-Client-Signature', sign(KEY_A, nonce)).send(new URLSearchParams({ client_id: 'signer-a', token }).toString());
    expect(bad.status).toBe(401);
  });
});

describe('the seam in discovery', () => {
  it('publishes the method and its members next to the built-ins', () => {
    const router = createTokenRouter(options({ clientAuthentication: { methods: [signedNonce] }, endpoints: [revocation()] }));
    const metadata = router.metadata();
    expect(metadata.token_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post', 'none', 'private_key_jwt', 'client_secret_jwt', NAME]);
    expect(metadata.revocation_endpoint_auth_methods_supported).toEqual(metadata.token_endpoint_auth_methods_supported);
    expect(metadata.example_signed_nonce_supported).toBe(true);
  });

  it('without host methods, only the built-ins', () => {
    expect(createTokenRouter(options({})).metadata().token_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post', 'none', 'private_key_jwt', 'client_secret_jwt']);
  });
});

describe('single use under concurrency', () => {
  it('20 parallel requests with one nonce on a latency store: exactly one token', async () => {
    // The store's clock is the app's (createTestApp's clock starts at the same instant).
    const storage = withLatency<StorageAdapter>(createMemoryStorage({ clock: createClock() }), () => 1 + Math.random() * 4);
    const { app } = createTestApp({ clientAuthentication: { methods: [signedNonce] }, storage }, CLIENTS);
    const nonce = randomUUID();
    const answers = await Promise.all(Array.from({ length: 20 }, () => tokenRequest(app, 'signer-a', nonce, sign(KEY_A, nonce))));
    expect(answers.filter((r) => r.status === 200)).toHaveLength(1);
    expect(answers.filter((r) => r.status === 401)).toHaveLength(19);
  });
});

describe('an assertion-type method of the host', () => {
  const TYPE = 'urn:example:params:client-assertion-type:signed-id';
  // The "assertion" is "<client_id>.<signature of the client id>": enough to show how the seam reads it.
  const assertionMethod: ClientAuthenticationMethod = {
    name: 'example_signed_id',
    credential: { assertionType: TYPE },
    assertionSubject: (assertion) => assertion.split('.')[0] || undefined,
    async authenticate(client, req) {
      const [id, signature] = (req.assertion ?? '').split('.');
      return id === client.client_id && signature === sign(String(client.metadata?.signing_key), id) ? { authenticated: true } : { authenticated: false, reason: 'invalid_credentials' };
    },
  };
  const clients: MemoryClientDefinition[] = [{ client_id: 'asserter', token_endpoint_auth_method: 'example_signed_id', metadata: { signing_key: KEY_A }, grant_types: ['client_credentials'], scope: 'api:read' }];
  const { app } = createTestApp({ clientAuthentication: { methods: [assertionMethod] } }, clients);
  const send = (form: Record<string, string>, authorization?: string) => {
    const req = request(app).post('/connect/token').type('form');
    if (authorization) req.set('Authorization', authorization);
    return req.send(new URLSearchParams({ grant_type: 'client_credentials', ...form }).toString());
  };

  it('reads the client from the assertion when client_id is absent', async () => {
    const res = await send({ client_assertion_type: TYPE, client_assertion: `asserter.${sign(KEY_A, 'asserter')}` });
    expect(res.status).toBe(200);
  });

  it('refuses a bad assertion (401), an unknown assertion type and mixed methods (400 invalid_request)', async () => {
    expect((await send({ client_assertion_type: TYPE, client_assertion: `asserter.${sign(KEY_B, 'asserter')}` })).status).toBe(401);
    const unknownType = await send({ client_assertion_type: 'urn:example:other', client_assertion: 'x' });
    expect(unknownType.status).toBe(400);
    expect(unknownType.body.error).toBe('invalid_request');
    expect(unknownType.body.error_description).not.toContain('urn:example:other');
    const mixed = await send({ client_assertion_type: TYPE, client_assertion: `asserter.${sign(KEY_A, 'asserter')}` }, basic('asserter', KEY_A));
    expect(mixed.status).toBe(400);
    expect(mixed.body.error).toBe('invalid_request');
  });

  it('the JWT bearer type still reaches private_key_jwt (a JWT assertion for this client is refused as the wrong method)', async () => {
    const res = await send({ client_id: 'asserter', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: 'a.b.c' });
    expect(res.status).toBe(401);
  });
});

describe('the boundary: methods and the records that use them are checked', () => {
  const problemsOf = (run: () => unknown): string[] => {
    try {
      run();
    } catch (error) {
      if (error instanceof ConfigurationError) return [...error.problems];
      throw error;
    }
    throw new Error('expected a ConfigurationError');
  };

  it.each<[string, unknown, RegExp]>([
    ['not an array', signedNonce, /clientAuthentication\.methods must be an array/],
    ['no authenticate', [{ name: 'x_method', credential: 'client_id' }], /clientAuthentication\.methods\[0\]\.authenticate must be a function/],
    ['a built-in name', [{ ...signedNonce, name: 'private_key_jwt' }], /clientAuthentication\.methods\[0\]\.name "private_key_jwt" is already registered/],
    ['a name twice', [signedNonce, { ...signedNonce }], /clientAuthentication\.methods\[1\]\.name "example_signed_nonce" is already registered/],
    ['a malformed name', [{ ...signedNonce, name: 'has space' }], /clientAuthentication\.methods\[0\]\.name must be 1 to 64 letters/],
    ['a bad credential', [{ ...signedNonce, credential: 'header' }], /clientAuthentication\.methods\[0\]\.credential must be 'client_id' or \{ assertionType/],
    ['the JWT bearer assertion type', [{ ...signedNonce, credential: { assertionType: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' } }], /credential\.assertionType is already served by another method/],
    ['a computed discovery member', [{ ...signedNonce, discovery: { token_endpoint_auth_methods_supported: [] } }], /discovery sets token_endpoint_auth_methods_supported, which the router computes/],
    ['"none" as a signing algorithm', [{ ...signedNonce, signingAlgorithms: ['none'] }], /signingAlgorithms must be an array of JWS algorithm names \(never "none"\)/],
  ])('%s → ConfigurationError naming the field', (_name, methods, expected) => {
    const problems = problemsOf(() => createTokenRouter(options({ clientAuthentication: { methods: methods as readonly ClientAuthenticationMethod[] } })));
    expect(problems.join('\n')).toMatch(expected);
  });

  it('a client registered for a method the router does not serve is a startup error', () => {
    const problems = problemsOf(() => createTokenRouter(options({}, CLIENTS)));
    expect(problems.join('\n')).toMatch(/clients\["signer-a"\]\.token_endpoint_auth_method "example_signed_nonce" is not supported by this server \(supported: client_secret_basic, client_secret_post, none, private_key_jwt, client_secret_jwt\)/);
  });

  it('the method\'s checkClient problems are startup errors naming the client', () => {
    const bad: MemoryClientDefinition[] = [{ client_id: 'weak', token_endpoint_auth_method: NAME, metadata: { signing_key: 'short' }, grant_types: ['client_credentials'] }];
    expect(problemsOf(() => createTokenRouter(options({ clientAuthentication: { methods: [signedNonce] } }, bad))).join('\n')).toMatch(/clients\["weak"\]\.metadata\.signing_key must be a string of at least 32 characters/);
  });

  it('a method that throws, or answers nonsense, is a logged 500 and never a token', async () => {
    const throwing: ClientAuthenticationMethod = { ...signedNonce, name: 'x_throwing', authenticate: async () => { throw new Error('boom: key service down'); } };
    const nonsense = { ...signedNonce, name: 'x_nonsense', authenticate: async () => ({ authenticated: 'yes' }) } as unknown as ClientAuthenticationMethod;
    const clients: MemoryClientDefinition[] = [
      { client_id: 'thrower', token_endpoint_auth_method: 'x_throwing', metadata: { signing_key: KEY_A }, grant_types: ['client_credentials'] },
      { client_id: 'nonsense', token_endpoint_auth_method: 'x_nonsense', metadata: { signing_key: KEY_A }, grant_types: ['client_credentials'] },
    ];
    const { app, logged } = createTestApp({ clientAuthentication: { methods: [throwing, nonsense] } }, clients);
    for (const clientId of ['thrower', 'nonsense']) {
      const res = await tokenRequest(app, clientId, 'n', 's');
      expect(res.status).toBe(500);
      expect(res.body.error).toBe('server_error');
      expect(JSON.stringify(res.body)).not.toMatch(/boom|x_nonsense/);
    }
    expect(logged.filter((l) => l.level === 'error')).toHaveLength(2);
  });
});

function options(overrides: Partial<TokenRouterOptions>, clients: MemoryClientDefinition[] = CLIENTS.slice(2)): TokenRouterOptions {
  return {
    issuer: ISSUER,
    signingKeys: [{ kid: 'k', alg: 'RS256', privateKey: rsaKey().privateKey }],
    clients: createMemoryClientRegistry(clients),
    storage: createMemoryStorage(),
    logger: { warn: () => undefined, error: () => undefined },
    ...overrides,
  };
}
