// spec/options/unserved-grant-types.spec.ts
// A client registered for a grant the router does not serve is a wiring mistake a host only meets
// later (unsupported_grant_type at /token, a rejected issueAuthorizationCode at its authorize
// route). A registry that lists its clients is checked at startup: one warning per grant type,
// naming the clients and the fix; the router still starts (a registry may be shared by routers).
import { clientCredentials, createMemoryClientRegistry, createMemoryStorage, createTokenRouter, defaultGrants, type Logger, type MemoryClientDefinition } from '../../lib';
import { rsaKey } from '../helpers/keys';

const storage = createMemoryStorage();
afterAll(() => storage.close());

function startWith(grants: ReturnType<typeof defaultGrants>, clients: MemoryClientDefinition[]): string[] {
  const warnings: string[] = [];
  const logger: Logger = { warn: (message) => warnings.push(message), error: (message) => warnings.push(`error: ${message}`) };
  createTokenRouter({ issuer: 'https://id.example.test', signingKeys: [{ kid: 'k1', privateKey: rsaKey().pem }], clients: createMemoryClientRegistry(clients), storage, grants, logger });
  return warnings.filter((message) => message.includes('grant_types'));
}

const spa: MemoryClientDefinition = { client_id: 'spa', token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], redirect_uris: ['https://app.example.test/cb'], scope: 'openid' };
const service: MemoryClientDefinition = { client_id: 'svc', client_secret: 'svc-secret-0123456789abcdef', grant_types: ['client_credentials'], scope: 'api' };

describe('clients registered for grants the router does not serve', () => {
  it('warns once per grant type at startup, naming the clients and the fix', () => {
    const warnings = startWith([clientCredentials()], [spa, { ...spa, client_id: 'spa2' }, service]);
    expect(warnings).toHaveLength(2);
    const code = warnings.find((message) => message.includes('"authorization_code"'));
    expect(code).toContain('"spa", "spa2"');
    expect(code).toContain('options.grants');
    expect(warnings.some((message) => message.includes('"refresh_token"'))).toBe(true);
  });

  it('says nothing when every registered grant type is served', () => {
    expect(startWith(defaultGrants(), [spa, service])).toEqual([]);
  });

  it('lists at most five client ids per grant type', () => {
    const many = Array.from({ length: 8 }, (_, i) => ({ ...spa, client_id: `spa${i}` }));
    const [warning] = startWith([clientCredentials()], many).filter((message) => message.includes('"authorization_code"'));
    expect(warning).toContain('"spa4"');
    expect(warning).not.toContain('"spa5"');
    expect(warning).toContain('and 3 more');
  });
});
