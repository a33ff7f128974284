// spec/options.spec.ts
// Options are validated once, at createTokenRouter time, with messages that say what to fix.

import { authorizationCode, clientCredentials, ConfigurationError, createMemoryClientRegistry, createMemoryStorage, createTokenRouter, type GrantStrategy, type TokenRouterOptions } from '../lib';
import { rsaKey, keyPair } from './helpers/keys';

const clients = createMemoryClientRegistry([]);
function base(): TokenRouterOptions {
  return { issuer: 'https://id.example.test', signingKeys: [{ kid: 'k1', privateKey: rsaKey().pem }], clients, storage };
}
const storage = createMemoryStorage();
afterAll(() => storage.close());

function problemsOf(options: unknown): string {
  try {
    createTokenRouter(options as TokenRouterOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return (error as ConfigurationError).message;
  }
  throw new Error('expected a ConfigurationError');
}

describe('createTokenRouter option validation', () => {
  it('accepts a minimal valid configuration and returns a router', () => {
    const router = createTokenRouter(base());
    expect(typeof router).toBe('function');
  });

  it.each([
    ['a non-URL issuer', { issuer: 'not a url' }, /issuer/],
    ['an http issuer off localhost', { issuer: 'http://id.example.test' }, /https/],
    ['an issuer with a query', { issuer: 'https://id.example.test?x=1' }, /query or fragment/],
    ['an issuer with a fragment', { issuer: 'https://id.example.test#f' }, /query or fragment/],
    ['a non-string issuer', { issuer: 42 }, /issuer must be a string/],
  ])('rejects %s', (_what, patch, message) => {
    expect(problemsOf({ ...base(), ...patch })).toMatch(message);
  });

  it('explains that the default grants need storage', () => {
    const message = problemsOf({ ...base(), storage: undefined });
    expect(message).toMatch(/authorization_code\): needs storage\.saveAuthorizationCode\(\)/);
    expect(message).toMatch(/grants: \[clientCredentials\(\)\], which needs no storage/);
  });

  it('needs no storage for client_credentials alone', () => {
    expect(() => createTokenRouter({ ...base(), storage: undefined, grants: [clientCredentials()] })).not.toThrow();
  });

  it.each([
    ['a code lifetime over 10 minutes', { grants: [authorizationCode({ codeTtl: 601 })] }, /codeTtl must be an integer from 1 to 600/],
    ['an idToken ttl under a minute', { idToken: { ttl: 10 } }, /idToken\.ttl must be at least 60/],
    ['a short pairwise salt', { subjects: { pairwiseSalt: 'short' } }, /subjects\.pairwiseSalt must be a string of at least 32 characters of secret randomness\./],
    ['a relative authorization endpoint', { discovery: { authorizationEndpoint: '/authorize' } }, /discovery\.authorizationEndpoint must be an absolute URL/],
  ])('rejects %s', (_what, patch, message) => {
    expect(problemsOf({ ...base(), ...patch })).toMatch(message);
  });

  it('accepts http://localhost for development', () => {
    expect(() => createTokenRouter({ ...base(), issuer: 'http://localhost:3000' })).not.toThrow();
  });

  it.each([
    ['no keys', { signingKeys: [] }, /signingKeys must be a non-empty array/],
    ['a garbage key', { signingKeys: [{ kid: 'a', privateKey: 'nope' }] }, /signingKeys\[0\]\.privateKey could not be parsed/],
    ['a public key', { signingKeys: [{ kid: 'a', privateKey: rsaKey().publicKey }] }, /pass the private key/],
    ['an unknown alg', { signingKeys: [{ kid: 'a', alg: 'HS256', privateKey: rsaKey().pem }] }, /signingKeys\[0\]\.alg must be one of/],
    ['a missing kid', { signingKeys: [{ privateKey: rsaKey().pem }] }, /signingKeys\[0\]\.kid/],
    ['duplicate kids', { signingKeys: [{ kid: 'a', privateKey: rsaKey().pem }, { kid: 'a', privateKey: rsaKey().pem }] }, /used twice/],
  ])('rejects %s', (_what, patch, message) => {
    expect(problemsOf({ ...base(), ...patch })).toMatch(message);
  });

  it('rejects an RSA key shorter than 2048 bits', () => {
    const { privateKey } = keyPair('rsa', { modulusLength: 1024 });
    expect(problemsOf({ ...base(), signingKeys: [{ kid: 'a', privateKey }] })).toMatch(/at least 2048 bits/);
  });

  it('rejects an EC key for RS256 and a P-384 key for ES256', () => {
    const p256 = keyPair('ec', { namedCurve: 'P-256' }).privateKey;
    const p384 = keyPair('ec', { namedCurve: 'P-384' }).privateKey;
    expect(problemsOf({ ...base(), signingKeys: [{ kid: 'a', alg: 'RS256', privateKey: p256 }] })).toMatch(/needs an RSA key/);
    expect(problemsOf({ ...base(), signingKeys: [{ kid: 'a', alg: 'ES256', privateKey: p384 }] })).toMatch(/prime256v1/);
  });

  it.each([
    ['a missing client registry', { clients: undefined }, /clients must be a ClientRegistry/],
    ['an unknown option (typo)', { acessToken: {} }, /Unknown option "acessToken"/],
    ['a fractional ttl', { accessToken: { ttl: 1.5 } }, /accessToken\.ttl must be a whole number of seconds\./],
    ['a too-long ttl', { accessToken: { ttl: 100000 } }, /at most 86400/],
    ['an empty audience', { accessToken: { audience: '' } }, /accessToken\.audience/],
    ['a tiny body cap', { maxBodyBytes: 10 }, /maxBodyBytes must be at least 1024/],
    ['a non-function clock', { clock: 5 }, /clock must be a function/],
    ['a broken logger', { logger: {} }, /logger must have warn/],
    ['a rate-limit handler', { rateLimit: { handler: () => undefined } }, /rateLimit\.handler cannot be set/],
    ['an empty grants list', { grants: [] }, /grants must be a non-empty array/],
    ['a non-boolean enforceRegisteredMethod', { clientAuthentication: { enforceRegisteredMethod: 'yes' } }, /clientAuthentication\.enforceRegisteredMethod must be true or false\./],
  ])('rejects %s', (_what, patch, message) => {
    expect(problemsOf({ ...base(), ...patch })).toMatch(message);
  });

  it('rejects two strategies for the same grant type, naming both positions', () => {
    expect(problemsOf({ ...base(), grants: [clientCredentials(), clientCredentials()] })).toMatch(/grants\[1\]\.grantType "client_credentials" is already served/);
  });

  it('checks custom strategies', () => {
    const bad = { grantType: 'has space', parameters: {}, allowPublicClients: false, handle: async () => ({}) } as unknown as GrantStrategy;
    const noHandle = { grantType: 'urn:x', parameters: {}, allowPublicClients: false } as unknown as GrantStrategy;
    const badParams: GrantStrategy = { grantType: 'urn:y', parameters: { scope: {}, token: { pattern: /x/g } }, allowPublicClients: false, handle: async () => ({ access_token: 'a', token_type: 'Bearer', expires_in: 1 }) };
    const message = problemsOf({ ...base(), grants: [bad, noHandle, badParams] });
    expect(message).toMatch(/grants\[0\]\.grantType must be a non-empty grant_type/);
    expect(message).toMatch(/grants\[1\]\.handle must be an async function/);
    expect(message).toMatch(/grants\[2\]\.parameters\.scope: the router handles scope itself/);
    expect(message).toMatch(/grants\[2\]\.parameters\.token\.pattern must not use the g or y flag/);
  });

  it('reports problems from a strategy\'s validateSetup', () => {
    const needsStorage: GrantStrategy = {
      grantType: 'urn:z', parameters: {}, allowPublicClients: false,
      validateSetup: (setup) => (setup.storage?.saveAuthorizationCode ? [] : ['needs storage.saveAuthorizationCode; pass storage: createMemoryStorage()']),
      handle: async () => ({ access_token: 'a', token_type: 'Bearer', expires_in: 1 }),
    };
    expect(problemsOf({ ...base(), storage: undefined, grants: [needsStorage] })).toMatch(/grants\[0\] \(urn:z\): needs storage\.saveAuthorizationCode/);
  });

  it('collects every problem into one error', () => {
    const error = (() => { try { createTokenRouter({ issuer: 'x', signingKeys: [], clients: undefined } as unknown as TokenRouterOptions); } catch (e) { return e as ConfigurationError; } return undefined; })();
    expect(error?.problems.length).toBeGreaterThanOrEqual(3);
    expect(error?.code).toBe('ERR_TOKEN_ROUTER_OPTIONS');
  });

  it('rejects a non-object', () => {
    expect(problemsOf(undefined)).toMatch(/needs an options object/);
  });
});
