// spec/clients/memory-client-registry.spec.ts
// createMemoryClientRegistry (validation, digests only) and the constant-time secret checks of
// lib/clients/client-secret.ts (decisions B24–B26).
import crypto from 'node:crypto';
import { inspect } from 'node:util';
import { ConfigurationError } from '../../lib';
import { burnSecretComparison, hashClientSecret, matchesSecretDigests, verifyClientSecret } from '../../lib/clients/client-secret';
import { createMemoryClientRegistry, type MemoryClientDefinition } from '../../lib';
import type { ClientSecretDigest, RegisteredClient, TokenEndpointAuthMethod } from '../../lib';

const SECRET = 'svc-secret-0123456789abcdef-XYZ';
const OLD_SECRET = 'old-secret-0123456789abcdef-OLD';
const NEW_SECRET = 'new-secret-0123456789abcdef-NEW';
const NOW = Math.floor(Date.UTC(2026, 0, 1) / 1000);

/** Runs `build` and returns the ConfigurationError it throws (fails the test otherwise). */
function configurationError(build: () => unknown): ConfigurationError {
  try {
    build();
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error('expected a ConfigurationError, nothing was thrown');
}

async function found(definitions: readonly MemoryClientDefinition[], clientId: string): Promise<RegisteredClient> {
  const client = await createMemoryClientRegistry(definitions).findClient(clientId);
  if (!client) throw new Error(`client ${clientId} not found`);
  return client;
}

describe('createMemoryClientRegistry', () => {
  const definitions: MemoryClientDefinition[] = [
    { client_id: 'svc', client_secret: SECRET, grant_types: ['client_credentials'], scope: 'api:read', metadata: { team: 'a' } },
    { client_id: 'spa', token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], redirect_uris: ['https://spa.example.test/cb'] },
  ];

  it('finds registered clients and keeps their metadata', async () => {
    const registry = createMemoryClientRegistry(definitions);
    expect(await registry.findClient('svc')).toEqual({
      client_id: 'svc',
      grant_types: ['client_credentials'],
      scope: 'api:read',
      metadata: { team: 'a' },
      client_secrets: [{ sha256: hashClientSecret(SECRET) }],
    });
    expect(await registry.findClient('spa')).toEqual({
      client_id: 'spa',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      redirect_uris: ['https://spa.example.test/cb'],
    });
  });

  it('resolves undefined for unknown clients (and never throws)', async () => {
    const registry = createMemoryClientRegistry(definitions);
    await expect(registry.findClient('nobody')).resolves.toBeUndefined();
    await expect(registry.findClient('')).resolves.toBeUndefined();
    await expect(registry.findClient('__proto__')).resolves.toBeUndefined();
    await expect(registry.findClient('SVC')).resolves.toBeUndefined();
  });

  it('accepts an empty list', async () => {
    await expect(createMemoryClientRegistry([]).findClient('svc')).resolves.toBeUndefined();
  });

  describe('plaintext secrets are not retained', () => {
    const plaintext = [SECRET, OLD_SECRET, NEW_SECRET];
    const withSecrets: MemoryClientDefinition[] = [
      { client_id: 'svc', client_secret: SECRET, client_secret_list: [OLD_SECRET, { secret: NEW_SECRET, expires_at: NOW + 3600 }] },
    ];

    it('the returned record holds digests only', async () => {
      const client = await found(withSecrets, 'svc');
      const renderings = [JSON.stringify(client), JSON.stringify(Object.values(client)), inspect(client, { depth: null, showHidden: true })];
      for (const rendering of renderings) for (const secret of plaintext) expect(rendering).not.toContain(secret);
      expect(client).not.toHaveProperty('client_secret');
      expect(client).not.toHaveProperty('client_secret_list');
      expect(client.client_secrets).toEqual([
        { sha256: hashClientSecret(SECRET) },
        { sha256: hashClientSecret(OLD_SECRET) },
        { sha256: hashClientSecret(NEW_SECRET), expires_at: NOW + 3600 },
      ]);
    });

    it('the registry object does not expose them either', () => {
      const registry = createMemoryClientRegistry(withSecrets);
      const renderings = [JSON.stringify(registry), JSON.stringify(Object.values(registry)), inspect(registry, { depth: null, showHidden: true })];
      for (const rendering of renderings) for (const secret of plaintext) expect(rendering).not.toContain(secret);
    });

    it('the returned record is frozen', async () => {
      const client = await found(withSecrets, 'svc');
      expect(Object.isFrozen(client)).toBe(true);
    });
  });

  it('digests from hashClientSecret verify the plaintext they came from', async () => {
    const client = await found([{ client_id: 'svc', client_secret: SECRET }], 'svc');
    expect(await verifyClientSecret(client, SECRET, NOW)).toBe(true);
    expect(await verifyClientSecret(client, `${SECRET}x`, NOW)).toBe(false);
    expect(client.client_secrets?.[0].sha256).toBe(crypto.createHash('sha256').update(SECRET, 'utf8').digest('base64url'));
  });

  it('client_secret_list: plain strings never expire, entries with expires_at stop working at that second', async () => {
    const client = await found(
      [{ client_id: 'svc', client_secret_list: [{ secret: OLD_SECRET, expires_at: NOW + 60 }, NEW_SECRET] }],
      'svc',
    );
    expect(client.client_secrets).toEqual([{ sha256: hashClientSecret(OLD_SECRET), expires_at: NOW + 60 }, { sha256: hashClientSecret(NEW_SECRET) }]);
    expect(await verifyClientSecret(client, OLD_SECRET, NOW + 59)).toBe(true);
    expect(await verifyClientSecret(client, OLD_SECRET, NOW + 60)).toBe(false);
    expect(await verifyClientSecret(client, NEW_SECRET, NOW + 60)).toBe(true);
    expect(await verifyClientSecret(client, NEW_SECRET, NOW + 10 * 365 * 86_400)).toBe(true);
  });

  it('client_secret_list entries given as objects without expires_at never expire', async () => {
    const client = await found([{ client_id: 'svc', client_secret_list: [{ secret: NEW_SECRET }] }], 'svc');
    expect(client.client_secrets).toEqual([{ sha256: hashClientSecret(NEW_SECRET) }]);
  });

  it('keeps pre-hashed client_secrets as given', async () => {
    const digests: ClientSecretDigest[] = [{ sha256: hashClientSecret(OLD_SECRET), expires_at: NOW }, { sha256: hashClientSecret(NEW_SECRET) }];
    const client = await found([{ client_id: 'svc', client_secrets: digests }], 'svc');
    expect(client.client_secrets).toEqual(digests);
  });

  it('accepts a confidential client with only verify_client_secret', async () => {
    const client = await found([{ client_id: 'legacy', verify_client_secret: (s) => s === 'short' }], 'legacy');
    expect(await verifyClientSecret(client, 'short', NOW)).toBe(true);
    expect(client).not.toHaveProperty('client_secrets');
  });

  describe('validation', () => {
    const ok: MemoryClientDefinition = { client_id: 'ok', client_secret: SECRET };

    it.each<[string, MemoryClientDefinition[], RegExp]>([
      ['missing client_id', [ok, { client_secret: SECRET } as unknown as MemoryClientDefinition], /clients\[1\]\.client_id must be a non-empty string/],
      ['empty client_id', [{ client_id: '', client_secret: SECRET }], /clients\[0\]\.client_id must be a non-empty string/],
      ['non-string client_id', [{ client_id: 42, client_secret: SECRET } as unknown as MemoryClientDefinition], /clients\[0\]\.client_id must be a non-empty string/],
      ['duplicate ids', [ok, { client_id: 'ok', client_secret: SECRET }], /clients\[1\]\.client_id "ok" is registered twice/],
      ['a public client with a secret', [ok, { client_id: 'spa', token_endpoint_auth_method: 'none', client_secret: SECRET }], /clients\[1\] is a public client/],
      [
        'a public client with verify_client_secret',
        [{ client_id: 'spa', token_endpoint_auth_method: 'none', verify_client_secret: () => true }],
        /clients\[0\] is a public client/,
      ],
      ['a confidential client without a secret', [ok, ok, { client_id: 'svc2' }], /clients\[2\] uses client_secret_basic but has no secret/],
      [
        'a client_secret_post client without a secret',
        [{ client_id: 'svc2', token_endpoint_auth_method: 'client_secret_post' }],
        /clients\[0\] uses client_secret_post but has no secret/,
      ],
      [
        'a malformed auth method name',
        [ok, { client_id: 'mtls', token_endpoint_auth_method: 'tls/client_auth' as TokenEndpointAuthMethod, client_secret: SECRET }],
        /clients\[1\]\.token_endpoint_auth_method "tls\/client_auth" is not supported by this server/,
      ],
      [
        // A plugged-in method's name passes here (the router checks it against its methods), but such
        // a client never authenticates with a secret.
        'a secret on a client of a plugged-in method',
        [ok, { client_id: 'mtls', token_endpoint_auth_method: 'tls_client_auth', client_secret: SECRET }],
        /clients\[1\]\.token_endpoint_auth_method is "tls_client_auth", which never uses client_secrets/,
      ],
      ['a too-short client_secret', [{ client_id: 'svc', client_secret: 'fifteen-chars!!' }], /clients\[0\]\.client_secret is too short/],
      ['an empty client_secret', [{ client_id: 'svc', client_secret: '' }], /clients\[0\]\.client_secret must be a non-empty string/],
      [
        'a too-short secret in client_secret_list',
        [{ client_id: 'svc', client_secret_list: [NEW_SECRET, { secret: 'short' }] }],
        /clients\[0\]\.client_secret_list\[1\] is too short/,
      ],
      [
        'a malformed digest',
        [ok, { client_id: 'svc', client_secrets: [{ sha256: hashClientSecret(SECRET) }, { sha256: 'not-a-digest' }] }],
        /clients\[1\]\.client_secrets\[1\]\.sha256 must be a base64url SHA-256 digest/,
      ],
      [
        'a hex digest instead of base64url',
        [{ client_id: 'svc', client_secrets: [{ sha256: crypto.createHash('sha256').update(SECRET).digest('hex') }] }],
        /clients\[0\]\.client_secrets\[0\]\.sha256 must be a base64url SHA-256 digest/,
      ],
      ['a non-object entry', [ok, null as unknown as MemoryClientDefinition], /clients\[1\] must be an object/],
    ])('rejects %s, naming the path', (_label, input, message) => {
      const error = configurationError(() => createMemoryClientRegistry(input));
      expect(error.code).toBe('ERR_TOKEN_ROUTER_CLIENT');
      expect(error.message).toMatch(message);
      expect(error.problems.some((problem) => message.test(problem))).toBe(true);
    });

    it('collects every problem into one ConfigurationError', () => {
      const error = configurationError(() =>
        createMemoryClientRegistry([
          ok,
          { client_secret: SECRET } as unknown as MemoryClientDefinition,
          { client_id: 'ok', client_secret: SECRET },
          { client_id: 'spa', token_endpoint_auth_method: 'none', client_secret: SECRET },
          { client_id: 'svc2' },
          { client_id: 'mtls', token_endpoint_auth_method: 'tls_client_auth' as TokenEndpointAuthMethod, client_secret: SECRET },
          { client_id: 'short', client_secret: 'short' },
          { client_id: 'digest', client_secrets: [{ sha256: 'nope' }] },
        ]),
      );
      const paths = [
        'clients[1].client_id',
        'clients[2].client_id',
        'clients[3] is a public client',
        'clients[4] uses client_secret_basic',
        'clients[5].token_endpoint_auth_method',
        'clients[6].client_secret',
        'clients[7].client_secrets[0].sha256',
      ];
      for (const path of paths) {
        expect(error.problems.filter((problem) => problem.startsWith(path))).toHaveLength(1);
        expect(error.message).toContain(path);
      }
      // clients[7] has only a malformed digest, so it is also reported as having no secret.
      expect(error.problems).toHaveLength(paths.length + 1);
      expect(error.message).toMatch(/^express-token-endpoint: 8 configuration problems:/);
    });

    it('never puts a plaintext secret into the error message', () => {
      const error = configurationError(() =>
        createMemoryClientRegistry([
          { client_id: 'spa', token_endpoint_auth_method: 'none', client_secret: SECRET },
          { client_id: 'short', client_secret: 'tiny-secret' },
        ]),
      );
      expect(error.message).not.toContain(SECRET);
      expect(error.message).not.toContain('tiny-secret');
    });

    it.each<[string, unknown]>([
      ['an object', { client_id: 'svc', client_secret: SECRET }],
      ['undefined', undefined],
      ['null', null],
      ['a string', 'svc'],
    ])('rejects %s instead of an array', (_label, input) => {
      const error = configurationError(() => createMemoryClientRegistry(input as readonly MemoryClientDefinition[]));
      expect(error.code).toBe('ERR_TOKEN_ROUTER_CLIENT');
      expect(error.message).toMatch(/expects an array/);
    });

    // A non-numeric value (a date string, say) would compare false with `<=`, so the secret
    // would silently never expire: fail-open on a typo.
    it('rejects a non-numeric expires_at instead of treating the secret as never expiring', () => {
      const input = [
        { client_id: 'svc', client_secret_list: [{ secret: OLD_SECRET, expires_at: '2026-01-01T00:00:00Z' as unknown as number }] },
      ];
      const error = configurationError(() => createMemoryClientRegistry(input));
      expect(error.message).toMatch(/clients\[0\]\.client_secret_list\[0\]\.expires_at/);
    });

    it('rejects an expires_at given in milliseconds', () => {
      const input = [{ client_id: 'svc', client_secrets: [{ sha256: hashClientSecret(OLD_SECRET), expires_at: Date.now() + 60_000 }] }];
      const error = configurationError(() => createMemoryClientRegistry(input));
      expect(error.message).toMatch(/clients\[0\]\.client_secrets\[0\]\.expires_at must be a number of seconds/);
    });

    it('is not changed by mutating the definitions afterwards', async () => {
      const grantTypes = ['client_credentials'];
      const registry = createMemoryClientRegistry([{ client_id: 'svc', client_secret: OLD_SECRET, grant_types: grantTypes }]);
      grantTypes.push('authorization_code');
      expect((await registry.findClient('svc'))?.grant_types).toEqual(['client_credentials']);
    });
  });
});

describe('client secret checks (lib/clients/client-secret.ts)', () => {
  const secrets = ['first-secret-0123456789abcdef', 'middle-secret-0123456789abcdef', 'last-secret-0123456789abcdef'];
  const digests: ClientSecretDigest[] = secrets.map((secret) => ({ sha256: hashClientSecret(secret) }));

  afterEach(() => {
    jest.restoreAllMocks();
  });

  describe('matchesSecretDigests', () => {
    it('matches any of several digests', () => {
      for (const secret of secrets) expect(matchesSecretDigests(secret, digests, NOW)).toBe(true);
      expect(matchesSecretDigests('other-secret-0123456789abcdef', digests, NOW)).toBe(false);
      expect(matchesSecretDigests('', digests, NOW)).toBe(false);
    });

    it('ignores a digest from its expires_at second on', () => {
      const expiring: ClientSecretDigest[] = [{ sha256: hashClientSecret(secrets[0]), expires_at: NOW }, digests[1]];
      expect(matchesSecretDigests(secrets[0], expiring, NOW - 1)).toBe(true);
      expect(matchesSecretDigests(secrets[0], expiring, NOW)).toBe(false);
      expect(matchesSecretDigests(secrets[0], expiring, NOW + 1)).toBe(false);
      expect(matchesSecretDigests(secrets[1], expiring, NOW + 1)).toBe(true);
    });

    it('matches nothing without digests', () => {
      expect(matchesSecretDigests(secrets[0], undefined, NOW)).toBe(false);
      expect(matchesSecretDigests(secrets[0], [], NOW)).toBe(false);
    });

    describe('constant-time comparison', () => {
      it.each([
        ['the first digest', secrets[0]],
        ['the last digest', secrets[2]],
        ['no digest', 'other-secret-0123456789abcdef'],
      ])('compares against every unexpired digest when the secret matches %s (no early return)', (_label, presented) => {
        const expired: ClientSecretDigest = { sha256: hashClientSecret('expired-secret-0123456789abcdef'), expires_at: NOW - 1 };
        const spy = jest.spyOn(crypto, 'timingSafeEqual');
        matchesSecretDigests(presented, [digests[0], expired, digests[1], digests[2]], NOW);
        expect(spy).toHaveBeenCalledTimes(digests.length);
        for (const [a, b] of spy.mock.calls) expect(a.byteLength).toBe(b.byteLength);
      });

      it.each<[string, readonly ClientSecretDigest[] | undefined]>([
        ['no digests (undefined)', undefined],
        ['an empty list', []],
        ['only expired digests', [{ sha256: hashClientSecret(secrets[0]), expires_at: NOW }]],
        ['only malformed digests', [{ sha256: 'AAAA' }]],
      ])('still makes one (dummy) comparison with %s', (_label, list) => {
        const spy = jest.spyOn(crypto, 'timingSafeEqual');
        expect(matchesSecretDigests(secrets[0], list, NOW)).toBe(false);
        expect(spy).toHaveBeenCalledTimes(1);
      });

      it('burnSecretComparison makes one comparison (unknown clients)', () => {
        const spy = jest.spyOn(crypto, 'timingSafeEqual');
        burnSecretComparison(secrets[0]);
        expect(spy).toHaveBeenCalledTimes(1);
      });
    });
  });

  describe('verifyClientSecret', () => {
    const client: RegisteredClient = { client_id: 'svc', client_secrets: digests };

    it('checks the client digests, all of them', async () => {
      const spy = jest.spyOn(crypto, 'timingSafeEqual');
      expect(await verifyClientSecret(client, secrets[0], NOW)).toBe(true);
      expect(spy).toHaveBeenCalledTimes(digests.length);
      expect(await verifyClientSecret(client, 'other-secret-0123456789abcdef', NOW)).toBe(false);
      expect(spy).toHaveBeenCalledTimes(2 * digests.length);
    });

    it('makes a dummy comparison for a client without digests', async () => {
      const spy = jest.spyOn(crypto, 'timingSafeEqual');
      expect(await verifyClientSecret({ client_id: 'no-secret' }, secrets[0], NOW)).toBe(false);
      expect(spy).toHaveBeenCalledTimes(1);
    });

    it('uses verify_client_secret instead of the digests when present; only `true` counts', async () => {
      const verify = jest.fn((presented: string): boolean | Promise<boolean> => presented === 'legacy');
      const custom: RegisteredClient = { ...client, verify_client_secret: verify };
      expect(await verifyClientSecret(custom, 'legacy', NOW)).toBe(true);
      expect(await verifyClientSecret(custom, secrets[0], NOW)).toBe(false); // digests are not consulted
      verify.mockImplementation(async () => true);
      expect(await verifyClientSecret(custom, 'x', NOW)).toBe(true);
      verify.mockImplementation(() => 'yes' as unknown as boolean);
      expect(await verifyClientSecret(custom, 'x', NOW)).toBe(false);
      expect(verify).toHaveBeenCalledTimes(4);
    });
  });
});
