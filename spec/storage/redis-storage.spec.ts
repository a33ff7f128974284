// spec/storage/redis-storage.spec.ts
// What is specific to the Redis adapter, beyond the conformance kit: key layout and hash tags,
// a TTL on every key (relative to the adapter clock), no leftovers from lost races, one-key
// revocation, script reloading, prefixes and option validation (exact JSON round trips: the kit).
import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import { ConfigurationError, type AuthorizationCodeRecord, type DeviceCodeRecord, type RefreshTokenRecord } from '../../lib';
import { createRedisStorage, redisStorageKeys, type RedisStorage } from '../../lib/redis';
import { connectRedis, deleteKeysWithPrefix, describeWithRedis, freshPrefix, keysWithPrefix } from '../helpers/redis';
import { storageConfigurationErrorOf } from '../helpers/host-registry';

const T0 = Date.UTC(2026, 0, 1);
const SECOND = 1000;
const DAY = 24 * 3600 * SECOND;

function digest(label: string): string {
  return createHash('sha256').update(label).digest('base64url');
}

function code(name: string, overrides: Partial<AuthorizationCodeRecord> = {}): AuthorizationCodeRecord {
  return {
    codeHash: digest(`code:${name}`),
    clientId: 'web',
    redirectUri: 'https://web.example.com/cb',
    scope: ['openid', 'offline_access'],
    subject: 'user-1',
    grantId: `grant-${name}`,
    issuedAt: T0,
    expiresAt: T0 + 60 * SECOND,
    ...overrides,
  };
}

function token(name: string, grantId: string, overrides: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord {
  return {
    tokenHash: digest(`rt:${name}`),
    grantId,
    clientId: 'web',
    scope: ['openid', 'offline_access'],
    subject: 'user-1',
    issuedAt: T0,
    expiresAt: T0 + 14 * DAY,
    ...overrides,
  };
}

function device(name: string, overrides: Partial<DeviceCodeRecord> = {}): DeviceCodeRecord {
  return {
    deviceCodeHash: digest(`dc:${name}`),
    userCodeHash: digest(`uc:${name}`),
    clientId: 'tv',
    scope: ['openid'],
    grantId: `grant-${name}`,
    issuedAt: T0,
    expiresAt: T0 + 600 * SECOND,
    interval: 5,
    status: 'pending',
    ...overrides,
  };
}

describe('createRedisStorage options', () => {
  const fakeClient = { defineCommand: () => undefined } as unknown as Parameters<typeof createRedisStorage>[0]['client'];

  it('rejects a missing or non-ioredis client with a ConfigurationError', () => {
    expect(() => createRedisStorage({ client: undefined as unknown as typeof fakeClient })).toThrow(ConfigurationError);
    expect(() => createRedisStorage({ client: {} as unknown as typeof fakeClient })).toThrow(/client must be an ioredis Redis or Cluster/);
  });

  it('rejects a bad prefix, clock or ttlGraceMs, naming each', () => {
    const attempt = () => createRedisStorage({ client: fakeClient, prefix: 7 as unknown as string, clock: 'now' as unknown as () => number, ttlGraceMs: -1 });
    expect(attempt).toThrow(ConfigurationError);
    expect(attempt).toThrow(/prefix[\s\S]*clock[\s\S]*ttlGraceMs/);
  });

  it('rejects an unknown option (a typo must not fall back to the default), naming it and listing the known options', () => {
    const error = storageConfigurationErrorOf(() => createRedisStorage({ client: fakeClient, ttlGrace: 5000 } as unknown as Parameters<typeof createRedisStorage>[0]));
    expect(error.problems).toEqual(['Unknown option "createRedisStorage.ttlGrace". Known options: client, prefix, clock, ttlGraceMs, waitForReplicas.']);
    expect(error.message).toContain('Unknown option "createRedisStorage.ttlGrace"');
  });

  it('lists unknown options together with the bad values in one ConfigurationError', () => {
    const error = storageConfigurationErrorOf(() =>
      createRedisStorage({ client: fakeClient, keyPrefix: 'app:', ttlGraceMs: -1, clok: Date.now } as unknown as Parameters<typeof createRedisStorage>[0]),
    );
    expect(error.problems).toEqual([
      expect.stringMatching(/^Unknown option "createRedisStorage\.keyPrefix"\. Known options: client, prefix, clock, ttlGraceMs, waitForReplicas\.$/),
      expect.stringMatching(/^Unknown option "createRedisStorage\.clok"\./),
      'createRedisStorage: ttlGraceMs must be a whole number of ms, 0 or more.',
    ]);
  });

  it('rejects an options argument that is not an object with a ConfigurationError', () => {
    for (const options of [undefined, null, 'redis://127.0.0.1:6379', [fakeClient]]) {
      expect(storageConfigurationErrorOf(() => createRedisStorage(options as unknown as Parameters<typeof createRedisStorage>[0])).problems).toEqual([
        expect.stringMatching(/^createRedisStorage: options must be an object/),
      ]);
    }
  });

  it('documents its key layout: one hash tag per grant, escaped so it is never empty or cut short', () => {
    const keys = redisStorageKeys('ete:');
    expect(keys.code('h')).toBe('ete:code:h');
    expect(keys.tokenIndex('h')).toBe('ete:rt:h');
    expect(keys.token('g-1', 'h')).toBe('ete:{g-1}:rt:h');
    expect(keys.tombstone('g-1')).toBe('ete:{g-1}:revoked');
    expect(keys.device('h')).toBe('ete:dc:h');
    expect(keys.userCode('h')).toBe('ete:uc:h');
    expect(keys.revokedAccessToken('j')).toBe('ete:atr:j');
    expect(keys.oneTimeUse('ns:h')).toBe('ete:otu:ns:h');
    // Braces inside a grantId would end the tag early (or leave it empty): they are escaped, and
    // escaping is injective, so two grants never share a tombstone.
    expect(keys.tombstone('}x{')).toBe('ete:{%7Dx%7B}:revoked');
    expect(keys.tombstone('a}b')).not.toBe(keys.tombstone('a%7Db'));
    expect(() => keys.tombstone('')).toThrow(/non-empty grantId/);
  });
});

describeWithRedis('Redis storage adapter: Redis specifics', (url) => {
  let client: Redis;
  let now: number;
  let storage: RedisStorage;
  const clock = () => now;

  beforeAll(async () => {
    client = await connectRedis(url());
  });
  afterAll(async () => {
    await client?.quit();
  });
  beforeEach(() => {
    now = T0;
    storage = createRedisStorage({ client, prefix: freshPrefix('specifics'), clock });
  });
  afterEach(async () => {
    await deleteKeysWithPrefix(client, storage.prefix);
  });

  const keys = () => redisStorageKeys(storage.prefix);

  /** Runs every kind of write once: code, consume, family with rotation, revocation, device flow. */
  async function workload(): Promise<void> {
    await storage.saveAuthorizationCode(code('a'));
    await storage.consumeAuthorizationCode(code('a').codeHash, T0 + SECOND);
    await storage.saveRefreshToken(token('1', 'grant-a'));
    await storage.rotateRefreshToken(token('1', 'grant-a').tokenHash, token('2', 'grant-a', { parentHash: token('1', 'grant-a').tokenHash }), T0 + 2 * SECOND, 'sealed');
    await storage.revokeGrant('grant-b', T0, T0 + 15 * DAY);
    await storage.saveDeviceCode(device('d'));
    await storage.decideDeviceCode(device('d').userCodeHash, { status: 'approved', session: { subject: 'user-1' } });
    await storage.pollDeviceCode(device('d').deviceCodeHash, T0 + 3 * SECOND, 5);
    await storage.consumeDeviceCode(device('d').deviceCodeHash, T0 + 3 * SECOND);
    await storage.recordOneTimeUse('ns:use', T0 + 60 * SECOND);
  }

  it('gives every key it writes a TTL', async () => {
    await workload();
    const written = await keysWithPrefix(client, storage.prefix);
    expect(written.sort()).toEqual([
      keys().code(code('a').codeHash),
      keys().device(device('d').deviceCodeHash),
      keys().tokenIndex(token('1', 'grant-a').tokenHash),
      keys().tokenIndex(token('2', 'grant-a').tokenHash),
      keys().userCode(device('d').userCodeHash),
      keys().token('grant-a', token('1', 'grant-a').tokenHash),
      keys().token('grant-a', token('2', 'grant-a').tokenHash),
      keys().envelope('grant-a', token('1', 'grant-a').tokenHash),
      keys().tombstone('grant-b'),
      keys().oneTimeUse('ns:use'),
    ].sort());
    for (const key of written) expect([key, await client.pttl(key)]).toEqual([key, expect.any(Number)]);
    const ttls = await Promise.all(written.map((key) => client.pttl(key)));
    expect(ttls.every((ms) => ms > 0)).toBe(true);
  });

  it('computes TTLs from the adapter clock (record expiry minus its "now", plus the grace), not from the wall clock', async () => {
    // The adapter clock says 2026; Redis' own clock does not: the TTL is relative either way.
    await storage.saveAuthorizationCode(code('a'));
    await storage.saveDeviceCode(device('d'));
    now = T0 + 30 * SECOND;
    await storage.saveRefreshToken(token('1', 'grant-a', { expiresAt: T0 + 30 * SECOND + DAY }));
    const near = (actual: number, expected: number) => expect(Math.abs(actual - expected)).toBeLessThan(5 * SECOND);
    near(await client.pttl(keys().code(code('a').codeHash)), 60 * SECOND + 60 * SECOND);
    // Device requests: at least 10 minutes of grace, so a late poll still hears expired_token.
    near(await client.pttl(keys().device(device('d').deviceCodeHash)), 600 * SECOND + 600 * SECOND);
    near(await client.pttl(keys().userCode(device('d').userCodeHash)), 600 * SECOND + 600 * SECOND);
    near(await client.pttl(keys().token('grant-a', token('1', 'grant-a').tokenHash)), DAY + 60 * SECOND);
    near(await client.pttl(keys().tokenIndex(token('1', 'grant-a').tokenHash)), DAY + 60 * SECOND);
    // A one-time use: until the value expires, plus the grace.
    await storage.recordOneTimeUse('ns:use', T0 + 30 * SECOND + 5 * 60 * SECOND);
    near(await client.pttl(keys().oneTimeUse('ns:use')), 5 * 60 * SECOND + 60 * SECOND);
  });

  it('honours ttlGraceMs and gives a record saved already expired the minimum TTL (1 s)', async () => {
    storage = createRedisStorage({ client, prefix: storage.prefix, clock, ttlGraceMs: 0 });
    await storage.saveAuthorizationCode(code('a'));
    await storage.saveAuthorizationCode(code('old', { expiresAt: T0 - DAY }));
    const live = await client.pttl(keys().code(code('a').codeHash));
    expect(live).toBeGreaterThan(55 * SECOND);
    expect(live).toBeLessThanOrEqual(60 * SECOND);
    const expired = await client.pttl(keys().code(code('old').codeHash));
    expect(expired).toBeGreaterThan(0);
    expect(expired).toBeLessThanOrEqual(SECOND);
  });

  it('keeps a retry envelope in its own key for 2 minutes after the rotation (plus grace); without it the used token still reads as used', async () => {
    await storage.saveRefreshToken(token('1', 'grant-a'));
    now = T0 + 30 * SECOND;
    expect(await storage.rotateRefreshToken(token('1', 'grant-a').tokenHash, token('2', 'grant-a'), T0 + 20 * SECOND, 'sealed-successor')).toBe(true);
    const envelopeKey = keys().envelope('grant-a', token('1', 'grant-a').tokenHash);
    // consumedAt + 2 min − the adapter's now + 60 s grace.
    expect(Math.abs((await client.pttl(envelopeKey)) - (110 * SECOND + 60 * SECOND))).toBeLessThan(5 * SECOND);
    expect(await client.hexists(keys().token('grant-a', token('1', 'grant-a').tokenHash), 's')).toBe(0);
    expect((await storage.findRefreshToken(token('1', 'grant-a').tokenHash))?.successorEnvelope).toBe('sealed-successor');
    await client.del(envelopeKey); // what its TTL does
    expect(await storage.findRefreshToken(token('1', 'grant-a').tokenHash)).toEqual({ ...token('1', 'grant-a'), consumedAt: T0 + 20 * SECOND, retainUntil: token('1', 'grant-a').expiresAt });
    expect(await storage.rotateRefreshToken(token('1', 'grant-a').tokenHash, token('3', 'grant-a'), T0 + 3 * 60 * SECOND)).toBe(false);
  });

  it('keeps a rotated token and its index at least until its successor expires (reuse stays detectable)', async () => {
    await storage.saveRefreshToken(token('1', 'grant-a', { expiresAt: T0 + DAY }));
    const successor = token('2', 'grant-a', { expiresAt: T0 + 10 * DAY });
    expect(await storage.rotateRefreshToken(token('1', 'grant-a').tokenHash, successor, T0 + SECOND)).toBe(true);
    for (const key of [keys().token('grant-a', token('1', 'grant-a').tokenHash), keys().tokenIndex(token('1', 'grant-a').tokenHash)]) {
      expect(await client.pttl(key)).toBeGreaterThan(10 * DAY - 5 * SECOND);
    }
    expect((await storage.findRefreshToken(token('1', 'grant-a').tokenHash))?.retainUntil).toBe(T0 + 10 * DAY);
  });

  it('leaves no index keys behind from lost rotations: a 30-way race stores one successor and one index', async () => {
    const old = token('1', 'grant-a');
    await storage.saveRefreshToken(old);
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => storage.rotateRefreshToken(old.tokenHash, token(`s${i}`, 'grant-a', { parentHash: old.tokenHash }), T0 + i)));
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true);
    const written = (await keysWithPrefix(client, storage.prefix)).sort();
    expect(written).toEqual([
      keys().tokenIndex(old.tokenHash),
      keys().tokenIndex(token(`s${winner}`, 'grant-a').tokenHash),
      keys().token('grant-a', old.tokenHash),
      keys().token('grant-a', token(`s${winner}`, 'grant-a').tokenHash),
    ].sort());
  });

  it('revokes a grant with one write to one key, leaving the family records untouched', async () => {
    for (const name of ['1', '2', '3']) await storage.saveRefreshToken(token(name, 'grant-a'));
    const before = await keysWithPrefix(client, storage.prefix);
    const snapshot = (key: string): Promise<unknown> => client.type(key).then((type): Promise<unknown> => (type === 'hash' ? client.hgetall(key) : client.get(key)));
    const records = await Promise.all(before.map(snapshot));
    await storage.revokeGrant('grant-a', T0 + SECOND, T0 + 20 * DAY);
    const after = await keysWithPrefix(client, storage.prefix);
    expect(after.filter((key) => !before.includes(key))).toEqual([keys().tombstone('grant-a')]);
    expect(await Promise.all(before.map(snapshot))).toEqual(records);
    for (const name of ['1', '2', '3']) expect((await storage.findRefreshToken(token(name, 'grant-a').tokenHash))?.revokedAt).toBe(T0 + SECOND);
    expect(await client.pttl(keys().tombstone('grant-a'))).toBeGreaterThan(20 * DAY - 5 * SECOND);
  });

  it('keeps the tokens, successor and tombstone of one grant in one hash tag, also for grantIds with braces', async () => {
    const grantId = 'we{ird}%grant';
    await storage.saveRefreshToken(token('1', grantId));
    await storage.rotateRefreshToken(token('1', grantId).tokenHash, token('2', grantId), T0 + SECOND);
    await storage.revokeGrant(grantId, T0 + 2 * SECOND, T0 + DAY);
    const family = (await keysWithPrefix(client, storage.prefix)).filter((key) => !key.startsWith(`${storage.prefix}rt:`));
    expect(family).toHaveLength(3);
    const tags = new Set(family.map((key) => /\{([^}]*)\}/.exec(key)?.[1]));
    expect([...tags]).toEqual(['we%7Bird%7D%25grant']);
    expect((await storage.findRefreshToken(token('2', grantId).tokenHash))?.revokedAt).toBe(T0 + 2 * SECOND);
    // A grant whose id is the escaped form of the other's is a different grant.
    expect(await storage.isGrantRevoked('we%7Bird%7D%25grant')).toBe(false);
  });

  it('reloads its scripts after SCRIPT FLUSH (EVALSHA falls back to EVAL)', async () => {
    await storage.saveAuthorizationCode(code('a'));
    await client.script('FLUSH');
    expect(await storage.consumeAuthorizationCode(code('a').codeHash, T0)).toBe(true);
    expect(await storage.consumeAuthorizationCode(code('a').codeHash, T0)).toBe(false);
  });

  it('keeps prefixes apart: two adapters on one Redis do not see each other', async () => {
    const other = createRedisStorage({ client, prefix: freshPrefix('other'), clock });
    try {
      await storage.saveAuthorizationCode(code('a'));
      expect(await other.findAuthorizationCode(code('a').codeHash)).toBeUndefined();
      await other.saveAuthorizationCode(code('a', { clientId: 'other' }));
      expect((await storage.findAuthorizationCode(code('a').codeHash))?.clientId).toBe('web');
    } finally {
      await deleteKeysWithPrefix(client, other.prefix);
    }
  });

  it('refuses a rotation into another grant instead of writing across hash tags', async () => {
    await storage.saveRefreshToken(token('1', 'grant-a'));
    // The successor's grant id names the tag the old token is looked for under: not found there → false.
    await expect(storage.rotateRefreshToken(token('1', 'grant-a').tokenHash, token('2', 'grant-b'), T0)).resolves.toBe(false);
    expect(await storage.findRefreshToken(token('2', 'grant-b').tokenHash)).toBeUndefined();
    expect((await storage.findRefreshToken(token('1', 'grant-a').tokenHash))?.consumedAt).toBeUndefined();
  });

  it('close() quits the client it was given', async () => {
    const own = await connectRedis(url());
    const closing = createRedisStorage({ client: own, prefix: storage.prefix, clock });
    await closing.close();
    expect(own.status).toBe('end');
  });
});
