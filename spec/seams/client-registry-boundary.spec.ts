// spec/seams/client-registry-boundary.spec.ts
// Issue 12: every record a host's ClientRegistry returns is checked before use. A bad record is a
// server problem: 500 server_error with nothing for the client, a logged message naming the client
// id and the field, never a token; with a registry that lists its clients, a startup error.
import request from 'supertest';
import {
  authorizationCode,
  clientCredentials,
  ConfigurationError,
  createMemoryClientRegistry,
  createMemoryStorage,
  createTokenRouter,
  hashClientSecret,
  refreshToken,
  type ClientRegistry,
  type RegisteredClient,
  type TokenRouterOptions,
} from '../../lib';
import { basic, createCodeTestApp, createTestApp, SERVICE_SECRET, WEB_REDIRECT } from '../helpers/create-app';
import { rsaKey } from '../helpers/keys';

const digest = [{ sha256: hashClientSecret(SERVICE_SECRET) }];

/** A host registry backed by plain records, as a database table would hand them out. */
function hostRegistry(records: readonly object[]): ClientRegistry & { lookups: number } {
  const registry = {
    lookups: 0,
    async findClient(clientId: string): Promise<RegisteredClient | undefined> {
      registry.lookups += 1;
      // A fresh object per lookup, like a database row.
      const found = records.find((record) => (record as { client_id?: unknown }).client_id === clientId);
      return found ? ({ ...found } as RegisteredClient) : undefined;
    },
  };
  return registry;
}

describe('the client-registry boundary: bad records from a host registry', () => {
  it.each<[string, object, RegExp]>([
    [
      'grant_types as a string that contains a grant type',
      { client_id: 'legacy', client_secrets: digest, grant_types: 'xclient_credentials_legacy', scope: 'api' },
      /client "legacy".*grant_types must be an array/,
    ],
    ['scope as an array', { client_id: 'arr', client_secrets: digest, grant_types: ['client_credentials'], scope: ['a', 'b'] }, /client "arr".*scope must be a space-separated string/],
    [
      'private_key_jwt with client_secrets',
      { client_id: 'jwt', client_secrets: digest, grant_types: ['client_credentials'], scope: 'api', token_endpoint_auth_method: 'private_key_jwt' },
      /client "jwt".*token_endpoint_auth_method is "private_key_jwt" but the record has neither jwks nor jwks_uri/,
    ],
    [
      'a plaintext client_secret from a migrated database',
      { client_id: 'plain', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], scope: 'api' },
      /client "plain".*client_secret holds a plaintext secret.*hashClientSecret/,
    ],
    ['redirect_uris with a fragment', { client_id: 'frag', client_secrets: digest, grant_types: ['client_credentials'], redirect_uris: ['https://app.example/cb#x'] }, /client "frag".*redirect_uris\[0\] must not have a fragment/],
    ['an access_token_ttl in milliseconds', { client_id: 'ttl', client_secrets: digest, grant_types: ['client_credentials'], access_token_ttl: 3_600_000 }, /client "ttl".*access_token_ttl must be a whole number of seconds from 1 to 86400/],
  ])('%s: 500 server_error, no token, the log names client and field', async (_label, record, logged) => {
    const clients = hostRegistry([record]);
    const harness = createTestApp({ clients });
    const id = (record as { client_id: string }).client_id;
    const res = await request(harness.app).post('/connect/token').set('Authorization', basic(id, SERVICE_SECRET)).type('form').send('grant_type=client_credentials&scope=api');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'server_error' });
    expect(res.headers['cache-control']).toBe('no-store');
    expect(harness.events.some((event) => event.type === 'token.issued')).toBe(false);
    const errors = harness.logged.filter((entry) => entry.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0].details?.errorMessage).toMatch(logged);
    expect(errors[0].details?.clientId).toBe(id);
    // The secret never reaches the log, not even for the plaintext record.
    expect(JSON.stringify(harness.logged)).not.toContain(SERVICE_SECRET);
  });

  it('a good record from the same registry still works (the check is not a blanket refusal)', async () => {
    const clients = hostRegistry([{ client_id: 'good', client_secrets: digest, grant_types: ['client_credentials'], scope: 'api' }]);
    const harness = createTestApp({ clients });
    const res = await request(harness.app).post('/connect/token').set('Authorization', basic('good', SERVICE_SECRET)).type('form').send('grant_type=client_credentials&scope=api');
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('api');
  });

  it('checks a deeply frozen record once: the same frozen object is not re-checked', async () => {
    let reads = 0;
    const record = { client_id: 'same', client_secrets: Object.freeze([Object.freeze({ sha256: hashClientSecret(SERVICE_SECRET) })]), scope: 'api' } as RegisteredClient;
    // Counts every read of grant_types: the check reads it, later requests use the checked copy.
    Object.defineProperty(record, 'grant_types', { enumerable: true, get: () => { reads += 1; return Object.freeze(['client_credentials']); } });
    Object.freeze(record);
    const clients: ClientRegistry = { findClient: async () => record };
    const harness = createTestApp({ clients });
    const post = () => request(harness.app).post('/connect/token').set('Authorization', basic('same', SERVICE_SECRET)).type('form').send('grant_type=client_credentials');
    expect((await post()).status).toBe(200);
    const afterFirst = reads;
    expect(afterFirst).toBeGreaterThan(0);
    for (let i = 0; i < 3; i += 1) expect((await post()).status).toBe(200);
    expect(reads).toBe(afterFirst);
  });

  it('a mutable record edited in place takes effect at once: rotated secret, removed grant type', async () => {
    const NEW_SECRET = 'rotated-secret-0123456789abcdefgh';
    const record = { client_id: 'rows', client_secrets: [{ sha256: hashClientSecret(SERVICE_SECRET) }], grant_types: ['client_credentials'], scope: 'api' };
    const clients: ClientRegistry = { findClient: async (id) => (id === 'rows' ? (record as RegisteredClient) : undefined) };
    const harness = createTestApp({ clients });
    const post = (secret: string) => request(harness.app).post('/connect/token').set('Authorization', basic('rows', secret)).type('form').send('grant_type=client_credentials');
    expect((await post(SERVICE_SECRET)).status).toBe(200);
    // The host removes a leaked secret and adds a new one, editing its row in place.
    record.client_secrets = [{ sha256: hashClientSecret(NEW_SECRET) }];
    expect((await post(SERVICE_SECRET)).status).toBe(401);
    expect((await post(NEW_SECRET)).status).toBe(200);
    record.grant_types = [];
    expect((await post(NEW_SECRET)).body.error).toBe('unauthorized_client');
  });

  it('never logs a secret put into the wrong field', async () => {
    const secret = 'PlainTextSecretFromOldDb-123';
    const clients = hostRegistry([{ client_id: 'old', client_secrets: secret, grant_types: ['client_credentials'] }]);
    const harness = createTestApp({ clients });
    const res = await request(harness.app).post('/connect/token').set('Authorization', basic('old', secret)).type('form').send('grant_type=client_credentials');
    expect(res.status).toBe(500);
    expect(harness.logged[0].details?.errorMessage).toMatch(/client_secrets must be an array of \{ sha256, expires_at\? \} \(got a string\)/);
    expect(JSON.stringify(harness.logged)).not.toContain(secret);
  });

  it('a refresh policy name with a typo fails at the token request before the code is consumed', async () => {
    const records: object[] = [
      { client_id: 'web', client_secrets: digest, grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [WEB_REDIRECT], scope: 'openid offline_access', refresh_token_policy: 'Mobile' },
    ];
    const clients = hostRegistry(records);
    const harness = createCodeTestApp({ clients, refreshTokens: { policies: { Mobile: { type: 'sliding', lifetime: 3600 } } } }, []);
    const minted = await harness.tokenRouter.issueAuthorizationCode({ clientId: 'web', redirectUri: WEB_REDIRECT, scope: 'openid offline_access', subject: 'user-1' });
    // The host's table is edited: the policy name now has a typo.
    (records[0] as { refresh_token_policy: string }).refresh_token_policy = 'Mobil';
    const redeem = () => request(harness.app).post('/connect/token').set('Authorization', basic('web', SERVICE_SECRET)).type('form').send(`grant_type=authorization_code&code=${minted.code}&redirect_uri=${encodeURIComponent(WEB_REDIRECT)}`);
    const failed = await redeem();
    expect(failed.status).toBe(500);
    expect(harness.logged.map((entry) => entry.details?.errorMessage)).toEqual([expect.stringMatching(/client "web".*refresh_token_policy names the policy "Mobil"/)]);
    // Nothing was consumed: once the record is fixed, the same code redeems.
    (records[0] as { refresh_token_policy: string }).refresh_token_policy = 'Mobile';
    const fixed = await redeem();
    expect(fixed.status).toBe(200);
    expect(typeof fixed.body.refresh_token).toBe('string');
  });

  it('issueAuthorizationCode rejects for a bad record instead of minting a code', async () => {
    const clients = hostRegistry([{ client_id: 'web', client_secrets: digest, grant_types: 'authorization_code', redirect_uris: [WEB_REDIRECT], scope: 'openid' }]);
    const harness = createCodeTestApp({ clients }, []);
    await expect(harness.tokenRouter.issueAuthorizationCode({ clientId: 'web', redirectUri: WEB_REDIRECT, scope: 'openid', subject: 'u' })).rejects.toThrow(/client "web".*grant_types must be an array/);
  });
});

describe('the client-registry boundary: registries that list their clients are checked at startup', () => {
  const base = (clients: ClientRegistry): TokenRouterOptions => ({
    issuer: 'https://id.example.test',
    signingKeys: [{ kid: 'k1', privateKey: rsaKey().pem }],
    clients,
    grants: [clientCredentials()],
  });
  const startupProblems = (options: TokenRouterOptions): string => {
    try {
      createTokenRouter(options);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError);
      return (error as Error).message;
    }
    throw new Error('createTokenRouter did not throw');
  };

  it('a memory client naming an unknown refresh policy is a startup error naming client and field', () => {
    const clients = createMemoryClientRegistry([{ client_id: 'app', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], refresh_token_policy: 'Mobil' }]);
    expect(startupProblems({ ...base(clients), refreshTokens: { policies: { Mobile: { type: 'sliding', lifetime: 60 } } } })).toMatch(/clients\["app"\]\.refresh_token_policy names the policy "Mobil".*known: Mobile/);
  });

  it('a pairwise memory client without subjects.pairwiseSalt is a startup error', () => {
    const clients = createMemoryClientRegistry([{ client_id: 'pw', client_secret: SERVICE_SECRET, subject_type: 'pairwise', redirect_uris: ['https://pw.example/cb'] }]);
    expect(startupProblems(base(clients))).toMatch(/clients\["pw"\]\.subject_type is "pairwise" but the router has no subjects\.pairwiseSalt/);
    expect(() => createTokenRouter({ ...base(clients), subjects: { pairwiseSalt: 'x'.repeat(32) } })).not.toThrow();
  });

  it.each<[string, object, RegExp]>([
    ['grant_types as a string', { grant_types: 'client_credentials' }, /clients\[0\]\.grant_types must be an array/],
    ['scope as an array', { scope: ['a'] }, /clients\[0\]\.scope must be a space-separated string/],
    ['a redirect URI with a fragment', { redirect_uris: ['https://a.example/cb#frag'] }, /clients\[0\]\.redirect_uris\[0\] must not have a fragment/],
    ['a relative redirect URI', { redirect_uris: ['/cb'] }, /clients\[0\]\.redirect_uris\[0\] must be an absolute URI/],
    ['a pairwise client whose redirect URIs span two hosts', { subject_type: 'pairwise', redirect_uris: ['https://a.example/cb', 'https://b.example/cb'] }, /span 2 hosts; register a sector_identifier_uri/],
    ['an http sector_identifier_uri', { sector_identifier_uri: 'http://a.example/sector.json' }, /sector_identifier_uri must be an https URL/],
  ])('createMemoryClientRegistry refuses %s with the same rules', (_label, patch, message) => {
    expect(() => createMemoryClientRegistry([{ client_id: 'c', client_secret: SERVICE_SECRET, ...patch } as never])).toThrow(message);
  });

  it('a good registry starts (no false alarms)', () => {
    const clients = createMemoryClientRegistry([
      { client_id: 'web', client_secret: SERVICE_SECRET, grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [WEB_REDIRECT], scope: 'openid offline_access', refresh_token_policy: 'Mobile' },
      { client_id: 'pw', client_secret: SERVICE_SECRET, subject_type: 'pairwise', redirect_uris: ['https://pw.example/cb', 'https://pw.example/other'] },
    ]);
    expect(() => createTokenRouter({
      ...base(clients),
      grants: [authorizationCode(), refreshToken()],
      storage: createMemoryStorage(),
      refreshTokens: { policies: { Mobile: { type: 'sliding', lifetime: 60 } } },
      subjects: { pairwiseSalt: 'p'.repeat(32) },
    })).not.toThrow();
  });
});
