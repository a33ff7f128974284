// spec/endpoint/client-assertion-jwks-uri.spec.ts
// private_key_jwt with keys at the client's jwks_uri (RFC 7591 §2), through HTTP: a local key server
// on 127.0.0.1 counts its hits, so caching, one fetch in flight, rate-limited refetch on an unknown
// kid, timeouts and size caps are observed from outside. Every failure is one 401 invalid_client.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { ConfigurationError, createMemoryClientRegistry, createMemoryStorage, createTokenRouter, type ClientJwk, type JwksFetchOptions, type MemoryClientDefinition, type TokenRouterOptions } from '../../lib';
import { createTestApp, ISSUER, type TestApp } from '../helpers/create-app';
import { keyPair, rsaKey } from '../helpers/keys';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const rsa1 = keyPair('rsa', { modulusLength: 2048 });
const rsa2 = keyPair('rsa', { modulusLength: 2048 });
const ec = keyPair('ec', { namedCurve: 'P-256' });

const jwkOf = (key: typeof rsa1.publicKey, kid?: string): ClientJwk => ({ ...(key.export({ format: 'jwk' }) as ClientJwk), ...(kid !== undefined && { kid }) });

// ---- The client's key server ------------------------------------------------------------------

type Route = (req: IncomingMessage, res: ServerResponse) => void;
const routes = new Map<string, Route>();
const hits = new Map<string, number>();
let server: Server;
let base = '';

const json = (body: unknown): Route => (_req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
};
/** Serves whatever set `current()` returns at request time (key rotation). */
const liveSet = (current: () => readonly ClientJwk[]): Route => (req, res) => json({ keys: current() })(req, res);

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = req.url ?? '/';
    hits.set(url, (hits.get(url) ?? 0) + 1);
    const route = routes.get(url);
    if (route) route(req, res);
    else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A fresh path on the key server with its route; returns the jwks_uri. */
function serve(route: Route): string {
  const path = `/jwks/${randomUUID()}`;
  routes.set(path, route);
  return `${base}${path}`;
}
const hitsOf = (uri: string): number => hits.get(new URL(uri).pathname) ?? 0;

// ---- Clients, assertions, apps -----------------------------------------------------------------

const remoteClient = (uri: string, clientId = 'remote'): MemoryClientDefinition => ({
  client_id: clientId,
  token_endpoint_auth_method: 'private_key_jwt',
  jwks_uri: uri,
  grant_types: ['client_credentials'],
  scope: 'api:read',
});

function assertion(now: number, options: { clientId?: string; key?: jwt.Secret; alg?: jwt.Algorithm; kid?: string | null } = {}): string {
  const clientId = options.clientId ?? 'remote';
  const iat = Math.floor(now / 1000);
  const kid = options.kid === null ? undefined : (options.kid ?? 'rsa-1');
  return jwt.sign({ iss: clientId, sub: clientId, aud: ISSUER, iat, exp: iat + 60, jti: randomUUID() }, options.key ?? rsa1.privateKey, {
    algorithm: options.alg ?? 'RS256',
    ...(kid !== undefined && { keyid: kid }),
  });
}

function tokenRequest(test: TestApp, options: Parameters<typeof assertion>[1] = {}) {
  return request(test.app).post('/connect/token').type('form')
    .send(new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: assertion(test.clock(), options) }).toString());
}

function appFor(clients: MemoryClientDefinition[], jwks: JwksFetchOptions = {}, overrides: Partial<TokenRouterOptions> = {}): TestApp {
  return createTestApp({ clientAuthentication: { jwks }, ...overrides }, clients);
}

const warnings = (test: TestApp) => test.logged.filter((entry) => entry.level === 'warn');

// ---- Specs -------------------------------------------------------------------------------------

describe('private_key_jwt with jwks_uri: keys fetched, cached, refetched on rotation', () => {
  it('fetches the set once and serves later requests from the cache', async () => {
    const uri = serve(json({ keys: [jwkOf(rsa1.publicKey, 'rsa-1'), jwkOf(ec.publicKey, 'ec-1')] }));
    const test = appFor([remoteClient(uri)]);
    expect((await tokenRequest(test)).status).toBe(200);
    expect((await tokenRequest(test, { key: ec.privateKey, alg: 'ES256', kid: 'ec-1' })).status).toBe(200);
    expect((await tokenRequest(test)).status).toBe(200);
    expect(hitsOf(uri)).toBe(1);
    expect(test.events.filter((event) => event.type === 'token.issued')).toHaveLength(3);
  });

  it('a set with one key: an assertion without kid uses it', async () => {
    const uri = serve(json({ keys: [jwkOf(rsa1.publicKey)] }));
    const test = appFor([remoteClient(uri)]);
    expect((await tokenRequest(test, { kid: null })).status).toBe(200);
  });

  it('keys of other types and uses are ignored (RFC 7517 §5); the RSA signing key is used', async () => {
    const uri = serve(json({ keys: [
      { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo', kid: 'ed' },
      { ...jwkOf(rsa2.publicKey, 'enc-1'), use: 'enc' },
      { kty: 'RSA', kid: 'broken', n: 'AQAB' },
      'not a key',
      jwkOf(rsa1.publicKey, 'rsa-1'),
    ] }));
    const test = appFor([remoteClient(uri)]);
    expect((await tokenRequest(test)).status).toBe(200);
    // The encryption key is not a signing key, whatever signs with it.
    expect((await tokenRequest(test, { key: rsa2.privateKey, kid: 'enc-1' })).status).toBe(401);
  });

  it('key rotation: a new kid triggers one refetch (not sooner than minRefetchIntervalSeconds after the last fetch); a removed key stops working', async () => {
    let keys: ClientJwk[] = [jwkOf(rsa1.publicKey, 'rsa-1')];
    const uri = serve(liveSet(() => keys));
    const test = appFor([remoteClient(uri)]);
    expect((await tokenRequest(test)).status).toBe(200);
    expect(hitsOf(uri)).toBe(1);

    keys = [jwkOf(rsa2.publicKey, 'rsa-2')];
    // Just fetched: the unknown kid may not refetch yet.
    expect((await tokenRequest(test, { key: rsa2.privateKey, kid: 'rsa-2' })).status).toBe(401);
    expect(hitsOf(uri)).toBe(1);

    test.clock.advance(31_000);
    expect((await tokenRequest(test, { key: rsa2.privateKey, kid: 'rsa-2' })).status).toBe(200);
    expect(hitsOf(uri)).toBe(2);
    expect((await tokenRequest(test, { key: rsa2.privateKey, kid: 'rsa-2' })).status).toBe(200);
    expect(hitsOf(uri)).toBe(2);
    // The refetched set no longer has rsa-1.
    const removed = await tokenRequest(test);
    expect(removed.status).toBe(401);
    expect(removed.body).toEqual({ error: 'invalid_client', error_description: 'Client authentication failed.' });
  });

  it('an unknown kid twice in quick succession (and in parallel): one refetch only', async () => {
    const uri = serve(json({ keys: [jwkOf(rsa1.publicKey, 'rsa-1')] }));
    const test = appFor([remoteClient(uri)]);
    expect((await tokenRequest(test)).status).toBe(200);
    test.clock.advance(31_000);
    const first = await Promise.all([tokenRequest(test, { kid: 'nope' }), tokenRequest(test, { kid: 'nope' })]);
    const second = await tokenRequest(test, { kid: 'other' });
    expect([...first, second].map((res) => res.status)).toEqual([401, 401, 401]);
    expect(hitsOf(uri)).toBe(2);
    expect(test.events.filter((event) => event.type === 'client.authentication_failed').map((event) => event.type === 'client.authentication_failed' && event.reason))
      .toEqual(['invalid_client_assertion', 'invalid_client_assertion', 'invalid_client_assertion']);
  });

  it('concurrent first requests share one fetch', async () => {
    const uri = serve((req, res) => setTimeout(() => json({ keys: [jwkOf(rsa1.publicKey, 'rsa-1')] })(req, res), 150));
    const test = appFor([remoteClient(uri)]);
    const answers = await Promise.all(Array.from({ length: 10 }, () => tokenRequest(test)));
    expect(answers.map((res) => res.status)).toEqual(Array(10).fill(200));
    expect(hitsOf(uri)).toBe(1);
  });

  it('the cache lives cacheTtlSeconds on the router\'s clock', async () => {
    const uri = serve(json({ keys: [jwkOf(rsa1.publicKey, 'rsa-1')] }));
    const test = appFor([remoteClient(uri)], { cacheTtlSeconds: 120 });
    expect((await tokenRequest(test)).status).toBe(200);
    test.clock.advance(119_000);
    expect((await tokenRequest(test)).status).toBe(200);
    expect(hitsOf(uri)).toBe(1);
    test.clock.advance(2_000);
    expect((await tokenRequest(test)).status).toBe(200);
    expect(hitsOf(uri)).toBe(2);
  });

  it('two clients sharing a jwks_uri share its cache entry; maxCachedUris drops the least recently used', async () => {
    const shared = serve(json({ keys: [jwkOf(rsa1.publicKey, 'rsa-1')] }));
    const other = serve(json({ keys: [jwkOf(rsa1.publicKey, 'rsa-1')] }));
    const test = appFor([remoteClient(shared, 'a'), remoteClient(shared, 'b'), remoteClient(other, 'c')], { maxCachedUris: 1 });
    expect((await tokenRequest(test, { clientId: 'a' })).status).toBe(200);
    expect((await tokenRequest(test, { clientId: 'b' })).status).toBe(200);
    expect(hitsOf(shared)).toBe(1);
    expect((await tokenRequest(test, { clientId: 'c' })).status).toBe(200);
    expect((await tokenRequest(test, { clientId: 'a' })).status).toBe(200);
    expect([hitsOf(shared), hitsOf(other)]).toEqual([2, 1]);
  });
});

describe('private_key_jwt with jwks_uri: an unusable key server is the client\'s failure (401), logged', () => {
  it('a server slower than timeoutMs: 401 within about the timeout, and a warning naming client and URI', async () => {
    const uri = serve((req, res) => {
      const timer = setTimeout(() => json({ keys: [jwkOf(rsa1.publicKey, 'rsa-1')] })(req, res), 5_000);
      res.on('close', () => clearTimeout(timer));
    });
    const test = appFor([remoteClient(uri)], { timeoutMs: 200 });
    const started = Date.now();
    const token = assertion(test.clock());
    const res = await request(test.app).post('/connect/token').type('form')
      .send(new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: token }).toString());
    expect(res.status).toBe(401);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(res.body).toEqual({ error: 'invalid_client', error_description: 'Client authentication failed.' });
    expect(test.events).toEqual([expect.objectContaining({ type: 'client.authentication_failed', clientId: 'remote', reason: 'invalid_client_assertion' })]);
    expect(warnings(test)).toEqual([expect.objectContaining({ details: expect.objectContaining({ clientId: 'remote', jwksUri: uri, cause: 'no complete answer within 200 ms', cachedKeys: 'none' }) })]);
    expect(JSON.stringify(test.logged)).not.toContain(token);
    expect(JSON.stringify(test.logged)).not.toContain(token.split('.')[2]);
  });

  it.each<[string, Route, RegExp]>([
    ['a body over maxBytes, streamed without Content-Length', (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.write(`{"keys":[${JSON.stringify(jwkOf(rsa1.publicKey, 'rsa-1'))}`);
      for (let i = 0; i < 40; i += 1) res.write(`,{"kty":"none","pad":"${'x'.repeat(1000)}"}`);
      res.end(']}');
    }, /larger than 4096 bytes$/],
    ['a body over maxBytes, announced by Content-Length', (_req, res) => {
      const body = JSON.stringify({ keys: [jwkOf(rsa1.publicKey, 'rsa-1')], pad: 'x'.repeat(10_000) });
      res.setHeader('content-length', Buffer.byteLength(body));
      res.end(body);
    }, /larger than 4096 bytes \(Content-Length \d+\)/],
    ['a non-JSON body', (_req, res) => res.end('<html>keys</html>'), /not JSON/],
    ['JSON that is not a JWK Set', json([jwkOf(rsa1.publicKey, 'rsa-1')]), /not a JWK Set/],
    ['a set without any usable key', json({ keys: [{ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' }] }), /no usable RSA or EC signing key/],
    ['a set with a private key next to the public one', json({ keys: [jwkOf(rsa1.publicKey, 'rsa-1'), { ...(rsa2.privateKey.export({ format: 'jwk' }) as ClientJwk), kid: 'leak' }] }), /keys\[1\] holds private or symmetric key material/],
    ['a set with a symmetric key', json({ keys: [jwkOf(rsa1.publicKey, 'rsa-1'), { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' }] }), /keys\[1\] holds private or symmetric key material/],
    ['HTTP 500', (_req, res) => { res.statusCode = 500; res.end('oops'); }, /HTTP status 500/],
    ['a redirect (not followed)', (_req, res) => { res.statusCode = 302; res.setHeader('location', '/elsewhere'); res.end(); }, /fetch failed/],
  ])('%s → 401 invalid_client, logged with its cause', async (_what, route, cause) => {
    const uri = serve(route);
    const test = appFor([remoteClient(uri)], { maxBytes: 4096 });
    const res = await tokenRequest(test);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
    expect(test.events).toEqual([expect.objectContaining({ type: 'client.authentication_failed', reason: 'invalid_client_assertion' })]);
    expect(warnings(test)).toHaveLength(1);
    expect(warnings(test)[0].details).toMatchObject({ clientId: 'remote', jwksUri: uri });
    expect(String(warnings(test)[0].details?.cause)).toMatch(cause);
    expect(hitsOf(uri)).toBe(1);
  });

  it('a failed fetch is not retried before minRefetchIntervalSeconds: later requests fail at once, without a fetch', async () => {
    let up = false;
    const uri = serve((req, res) => {
      if (up) json({ keys: [jwkOf(rsa1.publicKey, 'rsa-1')] })(req, res);
      else {
        res.statusCode = 503;
        res.end();
      }
    });
    const test = appFor([remoteClient(uri)], { minRefetchIntervalSeconds: 10 });
    expect((await tokenRequest(test)).status).toBe(401);
    up = true;
    expect((await tokenRequest(test)).status).toBe(401);
    expect((await tokenRequest(test, { kid: 'other' })).status).toBe(401);
    expect(hitsOf(uri)).toBe(1);
    expect(warnings(test)).toHaveLength(1);
    test.clock.advance(10_000);
    expect((await tokenRequest(test)).status).toBe(200);
    expect(hitsOf(uri)).toBe(2);
  });

  it('stale-if-error: an expired set is used for staleIfErrorSeconds while refetches fail, then no longer', async () => {
    let up = true;
    const uri = serve((req, res) => {
      if (up) json({ keys: [jwkOf(rsa1.publicKey, 'rsa-1')] })(req, res);
      else {
        res.statusCode = 500;
        res.end();
      }
    });
    const test = appFor([remoteClient(uri)], { cacheTtlSeconds: 600, staleIfErrorSeconds: 300 });
    expect((await tokenRequest(test)).status).toBe(200);
    up = false;
    test.clock.advance(601_000);
    expect((await tokenRequest(test)).status).toBe(200);
    expect(hitsOf(uri)).toBe(2);
    expect(warnings(test)[0].details).toMatchObject({ clientId: 'remote', jwksUri: uri, cachedKeys: 'expired, used for 299 s more' });
    test.clock.advance(100_000);
    expect((await tokenRequest(test)).status).toBe(200);
    expect(hitsOf(uri)).toBe(3);
    test.clock.advance(200_000);
    expect((await tokenRequest(test)).status).toBe(401);
    expect(hitsOf(uri)).toBe(4);
    up = true;
    test.clock.advance(30_000);
    expect((await tokenRequest(test)).status).toBe(200);
  });

  it('staleIfErrorSeconds 0: an expired set is never used', async () => {
    let up = true;
    const uri = serve((req, res) => {
      if (up) json({ keys: [jwkOf(rsa1.publicKey, 'rsa-1')] })(req, res);
      else {
        res.statusCode = 500;
        res.end();
      }
    });
    const test = appFor([remoteClient(uri)], { staleIfErrorSeconds: 0 });
    expect((await tokenRequest(test)).status).toBe(200);
    up = false;
    test.clock.advance(600_000);
    expect((await tokenRequest(test)).status).toBe(401);
  });
});

describe('clientAuthentication.jwks.fetch: the host\'s fetcher instead of the network', () => {
  it('is called with the jwks_uri and an AbortSignal; its keys are checked and cached like fetched ones', async () => {
    const calls: Array<{ uri: string; signal: AbortSignal }> = [];
    const uri = 'https://keys.client.example/jwks.json';
    const test = appFor([remoteClient(uri)], {
      fetch: async (called, signal) => {
        calls.push({ uri: called, signal });
        return { keys: [jwkOf(rsa1.publicKey, 'rsa-1')] };
      },
    });
    expect((await tokenRequest(test)).status).toBe(200);
    expect((await tokenRequest(test)).status).toBe(200);
    expect(calls).toHaveLength(1);
    expect(calls[0].uri).toBe(uri);
    expect(calls[0].signal).toBeInstanceOf(AbortSignal);
  });

  it('a fetcher that ignores the signal and never answers: 401 after timeoutMs, the signal aborted', async () => {
    let seen: AbortSignal | undefined;
    const test = appFor([remoteClient('https://keys.client.example/hang')], {
      timeoutMs: 150,
      fetch: (_uri, signal) => {
        seen = signal;
        return new Promise(() => undefined);
      },
    });
    const started = Date.now();
    expect((await tokenRequest(test)).status).toBe(401);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(seen?.aborted).toBe(true);
    expect(warnings(test)[0].details).toMatchObject({ cause: 'no complete answer within 150 ms' });
  });

  it('a fetcher that throws, or returns private keys: 401 with the cause logged', async () => {
    const thrower = appFor([remoteClient('https://keys.client.example/a')], { fetch: async () => { throw new Error('egress denied'); } });
    expect((await tokenRequest(thrower)).status).toBe(401);
    expect(warnings(thrower)[0].details).toMatchObject({ cause: 'egress denied' });
    const leaky = appFor([remoteClient('https://keys.client.example/b')], { fetch: async () => ({ keys: [{ ...(rsa1.privateKey.export({ format: 'jwk' }) as ClientJwk), kid: 'rsa-1' }] }) });
    expect((await tokenRequest(leaky)).status).toBe(401);
    expect(warnings(leaky)[0].details?.cause).toMatch(/private or symmetric key material/);
  });
});

describe('jwks_uri: records and options checked at startup', () => {
  const base = { issuer: ISSUER, signingKeys: [{ kid: 'k', privateKey: rsaKey().privateKey }], storage: createMemoryStorage() };
  const problemsOf = (build: () => unknown): string => {
    try {
      build();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError);
      return (error as ConfigurationError).problems.join('\n');
    }
    return '';
  };

  it('a record has jwks or jwks_uri, not both; jwks_uri is https (http only for loopback)', () => {
    const both = { ...remoteClient('https://keys.client.example/jwks'), jwks: { keys: [jwkOf(rsa1.publicKey, 'rsa-1')] } };
    expect(problemsOf(() => createMemoryClientRegistry([both]))).toContain('both jwks and jwks_uri; a client has one of them, not both (RFC 7591 §2)');
    expect(problemsOf(() => createMemoryClientRegistry([remoteClient('http://keys.client.example/jwks')]))).toContain('jwks_uri must use https');
    expect(problemsOf(() => createMemoryClientRegistry([remoteClient('keys.client.example/jwks')]))).toContain('jwks_uri must be an absolute URL');
    expect(problemsOf(() => createMemoryClientRegistry([{ ...remoteClient('x'), jwks_uri: 42 as unknown as string }]))).toContain('jwks_uri must be a string');
    expect(problemsOf(() => createMemoryClientRegistry([remoteClient(`https://keys.client.example/${'a'.repeat(2100)}`)]))).toContain('jwks_uri must be at most 2048 characters');
    for (const loopback of ['http://localhost:8080/jwks', 'http://127.0.0.1/jwks', 'http://[::1]:9/jwks', 'https://keys.client.example/jwks']) {
      expect(problemsOf(() => createMemoryClientRegistry([remoteClient(loopback)]))).toBe('');
    }
  });

  it.each<[string, unknown, string]>([
    ['an unknown key', { timeout: 5 }, 'Unknown option "clientAuthentication.jwks.timeout"'],
    ['not an object', 'https://keys', 'clientAuthentication.jwks must be an object'],
    ['fetch not a function', { fetch: 'fetch' }, 'clientAuthentication.jwks.fetch must be a function'],
    ['timeoutMs above 10 s', { timeoutMs: 30_000 }, 'clientAuthentication.jwks.timeoutMs must be at most 10000: the fetch runs inside a token request'],
    ['timeoutMs below 100 ms', { timeoutMs: 10 }, 'clientAuthentication.jwks.timeoutMs must be at least 100'],
    ['maxBytes above 1 MiB', { maxBytes: 2 * 1_048_576 }, 'clientAuthentication.jwks.maxBytes must be at most 1048576'],
    ['cacheTtlSeconds 0', { cacheTtlSeconds: 0 }, 'clientAuthentication.jwks.cacheTtlSeconds must be at least 1'],
    ['a fractional interval', { minRefetchIntervalSeconds: 1.5 }, 'clientAuthentication.jwks.minRefetchIntervalSeconds must be a whole number of seconds'],
    ['an interval longer than the cache', { cacheTtlSeconds: 60, minRefetchIntervalSeconds: 120 }, 'minRefetchIntervalSeconds (120) must be at most cacheTtlSeconds (60)'],
    ['a negative staleIfErrorSeconds', { staleIfErrorSeconds: -1 }, 'clientAuthentication.jwks.staleIfErrorSeconds must be at least 0'],
    ['maxCachedUris 0', { maxCachedUris: 0 }, 'clientAuthentication.jwks.maxCachedUris must be at least 1'],
  ])('clientAuthentication.jwks with %s is a startup error', (_what, jwks, message) => {
    const problems = problemsOf(() => createTokenRouter({ ...base, clients: createMemoryClientRegistry([]), clientAuthentication: { jwks: jwks as JwksFetchOptions } }));
    expect(problems).toContain(message);
  });

  it('valid options, and none, are accepted; no fetch happens at startup', () => {
    let calls = 0;
    const clients = createMemoryClientRegistry([remoteClient('https://keys.client.example/jwks')]);
    const fetch = async () => {
      calls += 1;
      return { keys: [] };
    };
    expect(() => createTokenRouter({ ...base, clients, clientAuthentication: { jwks: { fetch, timeoutMs: 100, maxBytes: 1024, cacheTtlSeconds: 1, minRefetchIntervalSeconds: 1, staleIfErrorSeconds: 0, maxCachedUris: 1 } } })).not.toThrow();
    expect(() => createTokenRouter({ ...base, clients })).not.toThrow();
    expect(calls).toBe(0);
  });
});
