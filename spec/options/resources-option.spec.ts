// spec/options/resources-option.spec.ts
// The router's `resources` option (RFC 8707 protected resources) is checked once at startup, and
// a client record's `resources` at the registry boundary: a list the router cannot honour is a
// ConfigurationError at startup (registries that list their clients) or a logged 500 naming the
// field (a host registry), never a token.
import request from 'supertest';
import { ConfigurationError, createMemoryClientRegistry, createMemoryStorage, createTokenRouter, hashClientSecret, type MemoryClientDefinition, type TokenRouterOptions } from '../../lib';
import { basic, createTestApp, SERVICE_SECRET } from '../helpers/create-app';
import { rsaKey } from '../helpers/keys';
import { configurationErrorOf, expectLoggedInvalidRecord, hostRegistry } from '../helpers/host-registry';
import { ORDERS, RESOURCES } from '../helpers/resource-flow';

const storage = createMemoryStorage();
afterAll(() => storage.close());

function options(patch: Partial<TokenRouterOptions>, clients: MemoryClientDefinition[] = []): TokenRouterOptions {
  return { issuer: 'https://id.example.test', signingKeys: [{ kid: 'k1', privateKey: rsaKey().pem }], clients: createMemoryClientRegistry(clients), storage, ...patch };
}

function problemsOf(patch: Record<string, unknown>, clients: MemoryClientDefinition[] = []): string {
  const error = configurationErrorOf(() => createTokenRouter(options(patch as Partial<TokenRouterOptions>, clients)));
  expect(error.code).toBe('ERR_TOKEN_ROUTER_OPTIONS');
  return error.message;
}

describe('the resources option is validated at startup', () => {
  it('accepts resources with and without settings, and an empty object', () => {
    expect(() => createTokenRouter(options({ resources: RESOURCES }))).not.toThrow();
    expect(() => createTokenRouter(options({ resources: {} }))).not.toThrow();
  });

  it.each<[string, unknown, RegExp]>([
    ['not an object', 'https://api.example.test', /resources must be an object \{ \[resource URI\]: \{ scopes\?, accessTokenTtl\? \} \}/],
    ['an array', [ORDERS], /resources must be an object/],
    ['a relative key', { '/orders': {} }, /resources\["\/orders"\]: the key is the resource indicator and must be an absolute URI/],
    ['a key with a fragment', { 'https://api.example.test/x#y': {} }, /resources\["https:\/\/api\.example\.test\/x#y"\]: the key is the resource indicator and must not have a fragment/],
    ['a key with a space', { 'https://api.example.test/a b': {} }, /must be a URI of printable ASCII characters without spaces/],
    ['a settings value that is not an object', { [ORDERS]: true }, /resources\["https:\/\/api\.example\.test\/orders"\] must be an object \{ scopes\?, accessTokenTtl\? \}/],
    ['an unknown settings key', { [ORDERS]: { ttl: 60 } }, /Unknown option "resources\["https:\/\/api\.example\.test\/orders"\]\.ttl"\. Known options: scopes, accessTokenTtl\./],
    ['a lifetime of 0', { [ORDERS]: { accessTokenTtl: 0 } }, /resources\[".*"\]\.accessTokenTtl must be at least 1/],
    ['a lifetime over a day', { [ORDERS]: { accessTokenTtl: 86_401 } }, /\.accessTokenTtl must be at most 86400/],
    ['a fractional lifetime', { [ORDERS]: { accessTokenTtl: 1.5 } }, /\.accessTokenTtl must be a whole number of seconds/],
    ['scopes as a string', { [ORDERS]: { scopes: 'orders:read' } }, /\.scopes must be an array of scope tokens/],
    ['a scope with a space', { [ORDERS]: { scopes: ['orders read'] } }, /\.scopes must be an array of scope tokens/],
    ['openid as a resource scope', { [ORDERS]: { scopes: ['openid'] } }, /\.scopes must not contain openid: it is about the user and the grant/],
    ['offline_access as a resource scope', { [ORDERS]: { scopes: ['offline_access'] } }, /\.scopes must not contain offline_access/],
  ])('refuses %s', (_what, value, message) => {
    expect(problemsOf({ resources: value })).toMatch(message);
  });
});

describe('a client record\'s resources (registry boundary)', () => {
  const service = (resources: unknown): MemoryClientDefinition => ({ client_id: 'svc', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], resources } as unknown as MemoryClientDefinition);

  it('a listing registry: a resource the router does not know is a startup ConfigurationError naming the client and the field', () => {
    const message = problemsOf({ resources: RESOURCES }, [service([ORDERS, 'https://api.example.test/elsewhere'])]);
    expect(message).toContain('clients["svc"].resources[1] is not one of the router\'s resources');
    // Without a resources option, no resource is known.
    expect(problemsOf({}, [service([ORDERS])])).toContain('clients["svc"].resources[0] is not one of the router\'s resources');
  });

  it.each<[string, unknown, RegExp]>([
    ['a string instead of an array', ORDERS, /resources must be an array of resource URIs/],
    ['a fragment', [`${ORDERS}#x`], /resources\[0\] must not have a fragment/],
    ['a relative URI', ['orders'], /resources\[0\] must be an absolute URI/],
    ['an empty string', [''], /resources\[0\] must be a non-empty string/],
  ])('the memory registry refuses %s when it is created', (_what, value, message) => {
    const error = configurationErrorOf(() => createMemoryClientRegistry([service(value)]));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toMatch(message);
  });

  it.each<[string, unknown, RegExp]>([
    ['a resource the router does not know', ['https://api.example.test/elsewhere'], /resources\[0\] is not one of the router's resources/],
    ['a fragment', [`${ORDERS}#x`], /resources\[0\] must not have a fragment/],
    ['a number in the list', [ORDERS, 7], /resources\[1\] must be a non-empty string/],
    ['an object', { [ORDERS]: true }, /resources must be an array of resource URIs/],
  ])('a host registry returning %s: 500 server_error, no token, logged with the client id and the field', async (_what, value, field) => {
    const clients = hostRegistry({ svc: { client_id: 'svc', client_secrets: [{ sha256: hashClientSecret(SERVICE_SECRET) }], grant_types: ['client_credentials'], resources: value } });
    const harness = createTestApp({ clients, resources: RESOURCES });
    const res = await request(harness.app).post('/connect/token').set('Authorization', basic('svc', SERVICE_SECRET)).type('form').send(`grant_type=client_credentials&resource=${encodeURIComponent(ORDERS)}`);
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'server_error' });
    expect(harness.events.some((event) => event.type === 'token.issued')).toBe(false);
    expectLoggedInvalidRecord(harness.logged, 'svc', field);
  });

  it('a good list from a host registry works; the memory registry hands out a frozen copy', async () => {
    const clients = hostRegistry({ svc: { client_id: 'svc', client_secrets: [{ sha256: hashClientSecret(SERVICE_SECRET) }], grant_types: ['client_credentials'], resources: [ORDERS] } });
    const harness = createTestApp({ clients, resources: RESOURCES });
    const res = await request(harness.app).post('/connect/token').set('Authorization', basic('svc', SERVICE_SECRET)).type('form').send(`grant_type=client_credentials&resource=${encodeURIComponent(ORDERS)}`);
    expect(res.status).toBe(200);
    const list = [ORDERS];
    const found = await createMemoryClientRegistry([service(list)]).findClient('svc');
    expect(found?.resources).toEqual([ORDERS]);
    expect(Object.isFrozen(found?.resources)).toBe(true);
    expect(found?.resources).not.toBe(list);
  });
});
