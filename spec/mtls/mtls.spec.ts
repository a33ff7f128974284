// spec/mtls/mtls.spec.ts
// Mutual-TLS client authentication and certificate-bound access tokens (RFC 8705) over a real
// Node https server with requestCert: tls_client_auth (subject DN and each SAN kind, chain
// required), self_signed_tls_client_auth (registered key), certificate binding checked by
// requireAccessToken and shown by introspection, the RFC 9440 header behind a proxy, and the
// record checks at the boundary. Certificates: spec/fixtures/mtls (generate.sh).
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import request from 'supertest';
import {
  accessTokenOf,
  certificateFromClientCertHeader,
  certificateThumbprint,
  ConfigurationError,
  createMemoryClientRegistry,
  createMemoryStorage,
  createTokenRouter,
  introspection,
  revocation,
  selfSignedTlsClientAuth,
  tlsClientAuth,
  type ClientJwk,
  type MemoryClientDefinition,
  type TokenEndpointEvent,
  type TokenRouterOptions,
} from '../../lib';
import { basic, createClock, decodeJwt, ISSUER, SERVICE_SECRET } from '../helpers/create-app';
import { rsaKey } from '../helpers/keys';

const fixture = (name: string) => readFileSync(join(__dirname, '..', 'fixtures', 'mtls', name), 'utf8');
const CA = fixture('ca.pem');
const CERTS = {
  client: { cert: fixture('client.pem'), key: fixture('client-key.pem') },
  other: { cert: fixture('other.pem'), key: fixture('other-key.pem') },
  self: { cert: fixture('self.pem'), key: fixture('self-key.pem') },
  multi: { cert: fixture('multi.pem'), key: fixture('multi-key.pem') },
  impostor: { cert: fixture('impostor.pem'), key: fixture('impostor-key.pem') },
};
type CertName = keyof typeof CERTS;
const thumbprintOf = (name: CertName) => certificateThumbprint(new X509Certificate(CERTS[name].cert));
const selfJwk: ClientJwk = { ...(new X509Certificate(CERTS.self.cert).publicKey.export({ format: 'jwk' }) as ClientJwk), kid: 'self-1' };

const base = { grant_types: ['client_credentials'], scope: 'api:read' } as const;
const CLIENTS: MemoryClientDefinition[] = [
  { client_id: 'mtls-dn', token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: 'CN=service one,O=Example\\, Inc.,C=NO', tls_client_certificate_bound_access_tokens: true, ...base },
  { client_id: 'mtls-dns', token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_san_dns: 'SERVICE.example.com', ...base },
  { client_id: 'mtls-uri', token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_san_uri: 'https://service.example.com/id', ...base },
  { client_id: 'mtls-ip', token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_san_ip: '10.1.2.3', ...base },
  { client_id: 'mtls-email', token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_san_email: 'ops@example.com', ...base },
  { client_id: 'self-signed', token_endpoint_auth_method: 'self_signed_tls_client_auth', jwks: { keys: [selfJwk] }, tls_client_certificate_bound_access_tokens: true, ...base },
  { client_id: 'secret-bound', client_secret: SERVICE_SECRET, tls_client_certificate_bound_access_tokens: true, ...base },
  { client_id: 'rs', client_secret: SERVICE_SECRET, introspection_allowed: true, ...base },
  // A multi-valued RDN (CN and O in one RDN, RFC 4514 "+"), most significant RDN last.
  { client_id: 'mtls-multi', token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: 'O=Example+CN=alice,C=NO', ...base },
];

function routerOptions(overrides: Partial<TokenRouterOptions> = {}, clients = CLIENTS, events: TokenEndpointEvent[] = []): TokenRouterOptions {
  const clock = createClock(Date.now());
  return {
    issuer: ISSUER,
    signingKeys: [{ kid: 'k', alg: 'RS256', privateKey: rsaKey().privateKey }],
    clients: createMemoryClientRegistry(clients),
    storage: createMemoryStorage({ clock }),
    clientAuthentication: { methods: [tlsClientAuth(), selfSignedTlsClientAuth()] },
    endpoints: [introspection(), revocation()],
    rateLimit: false,
    bruteForce: false,
    clock,
    onEvent: (event) => events.push(event),
    logger: { warn: () => undefined, error: () => undefined },
    ...overrides,
  };
}

describe('mutual TLS over an https server (RFC 8705)', () => {
  const events: TokenEndpointEvent[] = [];
  const tokenRouter = createTokenRouter(routerOptions({}, CLIENTS, events));
  const app = express();
  app.use('/connect', tokenRouter);
  app.get('/api/me', tokenRouter.requireAccessToken({ audience: ISSUER }), (req, res) => {
    res.json({ client: accessTokenOf(req).claims.client_id });
  });
  let server: Server;
  let origin: string;

  beforeAll(async () => {
    // requestCert without rejectUnauthorized: self-signed clients must get through to be judged by
    // their method; chainVerified tells tls_client_auth whether the CA vouched for the certificate.
    server = createServer({ key: fixture('server-key.pem'), cert: fixture('server.pem'), ca: CA, requestCert: true, rejectUnauthorized: false }, app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `https://localhost:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const withCert = <T extends request.Test>(test: T, cert: CertName | undefined): T => {
    test.ca(CA);
    if (cert !== undefined) test.cert(CERTS[cert].cert).key(CERTS[cert].key);
    return test;
  };
  const tokenRequest = (clientId: string, cert: CertName | undefined, extra: Record<string, string> = {}, authorization?: string) => {
    const test = withCert(request(origin).post('/connect/token').type('form'), cert);
    if (authorization) test.set('Authorization', authorization);
    return test.send(new URLSearchParams({ grant_type: 'client_credentials', ...(clientId && { client_id: clientId }), ...extra }).toString());
  };
  const callApi = (token: string, cert: CertName | undefined) => withCert(request(origin).get('/api/me'), cert).set('Authorization', `Bearer ${token}`);

  it('tls_client_auth by subject DN (RFC 4514, escaped comma): a certificate-bound Bearer token', async () => {
    const res = await tokenRequest('mtls-dn', 'client');
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('Bearer');
    expect(decodeJwt(res.body.access_token).payload.cnf).toEqual({ 'x5t#S256': thumbprintOf('client') });
  });

  it.each(['mtls-dns', 'mtls-uri', 'mtls-ip', 'mtls-email'])('tls_client_auth by a subjectAltName (%s); not bound unless registered', async (clientId) => {
    const res = await tokenRequest(clientId, 'client');
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token).payload.cnf).toBeUndefined();
  });

  it.each<[string, CertName | undefined]>([
    ['another certificate of the same CA', 'other'],
    ['a self-signed certificate with the registered subject (no CA vouches for it)', 'self'],
    ['no certificate', undefined],
  ])('tls_client_auth refuses %s: 401 invalid_client, reason invalid_client_certificate', async (_name, cert) => {
    events.length = 0;
    const res = await tokenRequest('mtls-dn', cert);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'invalid_client', error_description: 'Client authentication failed.' });
    expect(events).toEqual([expect.objectContaining({ type: 'client.authentication_failed', clientId: 'mtls-dn', reason: 'invalid_client_certificate' })]);
  });

  it('a multi-valued RDN is a set of attributes: the genuine certificate matches, a CN spelling "alice+O=Example" does not (review finding)', async () => {
    expect((await tokenRequest('mtls-multi', 'multi')).status).toBe(200);
    events.length = 0;
    expect((await tokenRequest('mtls-multi', 'impostor')).status).toBe(401);
    expect(events).toEqual([expect.objectContaining({ reason: 'invalid_client_certificate' })]);
  });

  it('revocation does not need the certificate of a client with bound tokens (nothing is issued there)', async () => {
    const revoke = await withCert(request(origin).post('/connect/revocation').type('form'), undefined).set('Authorization', basic('secret-bound', SERVICE_SECRET)).send('token=unknown');
    expect(revoke.status).toBe(200);
  });

  it('SAN matching is exact: the other certificate has another dNSName', async () => {
    expect((await tokenRequest('mtls-dns', 'other')).status).toBe(401);
  });

  it('a tls_client_auth client cannot fall back to a secret', async () => {
    expect((await tokenRequest('mtls-dn', 'client', { client_secret: SERVICE_SECRET })).status).toBe(401);
  });

  it('self_signed_tls_client_auth: the registered key authenticates, another does not', async () => {
    const ok = await tokenRequest('self-signed', 'self');
    expect(ok.status).toBe(200);
    expect(decodeJwt(ok.body.access_token).payload.cnf).toEqual({ 'x5t#S256': thumbprintOf('self') });
    expect((await tokenRequest('self-signed', 'client')).status).toBe(401);
    expect((await tokenRequest('self-signed', undefined)).status).toBe(401);
  });

  it('a secret client registered for bound tokens: bound to the connection\'s certificate; without one 400 invalid_request', async () => {
    const bound = await tokenRequest('', 'other', {}, basic('secret-bound', SERVICE_SECRET));
    expect(bound.status).toBe(200);
    expect(decodeJwt(bound.body.access_token).payload.cnf).toEqual({ 'x5t#S256': thumbprintOf('other') });
    const without = await tokenRequest('', undefined, {}, basic('secret-bound', SERVICE_SECRET));
    expect(without.status).toBe(400);
    expect(without.body.error).toBe('invalid_request');
  });

  it('requireAccessToken: a bound token works only over a connection with its certificate (RFC 8705 §3)', async () => {
    const token = (await tokenRequest('mtls-dn', 'client')).body.access_token as string;
    const ok = await callApi(token, 'client');
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ client: 'mtls-dn' });
    for (const cert of ['other', undefined] as const) {
      const refused = await callApi(token, cert);
      expect(refused.status).toBe(401);
      expect(refused.headers['www-authenticate']).toMatch(/^Bearer realm="[^"]*", error="invalid_token"/);
    }
    // An unbound token needs no certificate.
    const unbound = (await tokenRequest('mtls-dns', 'client')).body.access_token as string;
    expect((await callApi(unbound, undefined)).status).toBe(200);
  });

  it('introspection shows the binding (cnf x5t#S256, RFC 8705 §3.2)', async () => {
    const token = (await tokenRequest('mtls-dn', 'client')).body.access_token as string;
    const res = await withCert(request(origin).post('/connect/introspection').type('form'), undefined).set('Authorization', basic('rs', SERVICE_SECRET)).send(new URLSearchParams({ token }).toString());
    expect(res.status).toBe(200);
    expect(res.body).toEqual(expect.objectContaining({ active: true, token_type: 'Bearer', cnf: { 'x5t#S256': thumbprintOf('client') } }));
  });

  it('discovery lists the methods and certificate-bound tokens', () => {
    const metadata = tokenRouter.metadata();
    expect(metadata.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(['tls_client_auth', 'self_signed_tls_client_auth']));
    expect(metadata.tls_client_certificate_bound_access_tokens).toBe(true);
    expect(metadata.introspection_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(['tls_client_auth']));
  });
});

describe('behind a TLS-terminating proxy: the certificate from an RFC 9440 Client-Cert header', () => {
  const der = (name: CertName) => `:${new X509Certificate(CERTS[name].cert).raw.toString('base64')}:`;
  const app = express();
  app.use('/connect', createTokenRouter(routerOptions({
    clientAuthentication: {
      methods: [tlsClientAuth()],
      clientCertificate: (req) => {
        const certificate = certificateFromClientCertHeader(req.headers['client-cert']);
        return certificate && { certificate, chainVerified: req.headers['x-proxy-verified'] === 'yes' };
      },
    },
  }, CLIENTS.filter((c) => c.token_endpoint_auth_method === 'tls_client_auth'))));
  const send = (headers: Record<string, string>) => request(app).post('/connect/token').type('form').set(headers).send('grant_type=client_credentials&client_id=mtls-dn');

  it('authenticates with the forwarded certificate', async () => {
    const res = await send({ 'Client-Cert': der('client'), 'X-Proxy-Verified': 'yes' });
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token).payload.cnf).toEqual({ 'x5t#S256': thumbprintOf('client') });
  });

  it('refuses an unverified chain, a malformed header and no header', async () => {
    expect((await send({ 'Client-Cert': der('client') })).status).toBe(401);
    expect((await send({ 'Client-Cert': 'not base64 !', 'X-Proxy-Verified': 'yes' })).status).toBe(401);
    expect((await send({ 'Client-Cert': ':AAAA:', 'X-Proxy-Verified': 'yes' })).status).toBe(401);
    expect((await send({ 'X-Proxy-Verified': 'yes' })).status).toBe(401);
  });

  it('a reader that returns something else is a logged 500, never a token', async () => {
    const logged: string[] = [];
    const broken = express();
    broken.use('/connect', createTokenRouter(routerOptions({
      clientAuthentication: { methods: [tlsClientAuth()], clientCertificate: () => ({ certificate: 'PEM text', chainVerified: true }) as never },
      logger: { warn: () => undefined, error: (message) => logged.push(message) },
    }, CLIENTS.slice(0, 1))));
    const res = await request(broken).post('/connect/token').type('form').send('grant_type=client_credentials&client_id=mtls-dn');
    expect(res.status).toBe(500);
    expect(logged).toHaveLength(1);
  });
});

describe('the records of mTLS clients are checked at startup', () => {
  const problemsOf = (clients: MemoryClientDefinition[]): string => {
    try {
      createTokenRouter(routerOptions({}, clients));
    } catch (error) {
      if (error instanceof ConfigurationError) return error.problems.join('\n');
      throw error;
    }
    return '';
  };
  const mtls = { client_id: 'm', token_endpoint_auth_method: 'tls_client_auth', ...base } as const;

  it.each<[string, MemoryClientDefinition, RegExp]>([
    ['no subject field', mtls, /register exactly one of tls_client_auth_subject_dn, tls_client_auth_san_dns/],
    ['two subject fields', { ...mtls, tls_client_auth_san_dns: 'a.example', tls_client_auth_san_ip: '10.0.0.1' }, /the record has tls_client_auth_san_dns, tls_client_auth_san_ip/],
    ['a malformed DN', { ...mtls, tls_client_auth_subject_dn: 'not a dn' }, /tls_client_auth_subject_dn must be a distinguished name in RFC 4514 form/],
    ['a non-string subject', { ...mtls, tls_client_auth_san_dns: 42 as unknown as string }, /tls_client_auth_san_dns must be a string/],
    ['self-signed without jwks', { client_id: 'm', token_endpoint_auth_method: 'self_signed_tls_client_auth', ...base }, /self_signed_tls_client_auth" but the record has no jwks/],
    ['a non-boolean binding flag', { client_id: 'm', client_secret: SERVICE_SECRET, tls_client_certificate_bound_access_tokens: 'yes' as unknown as boolean, ...base }, /tls_client_certificate_bound_access_tokens must be true or false/],
    ['a hex-encoded ("#") DN value', { ...mtls, tls_client_auth_subject_dn: 'CN=#616c696365' }, /a hex "#…" value is not supported/],
    ['an IP that is not one', { ...mtls, tls_client_auth_san_ip: 'not an ip' }, /tls_client_auth_san_ip must be an IPv4 address/],
    ['an IPv4 with leading zeros', { ...mtls, tls_client_auth_san_ip: '010.001.002.003' }, /tls_client_auth_san_ip must be an IPv4 address \(dotted decimal, no leading zeros\)/],
    ['a JWK Node cannot import', { client_id: 'm', token_endpoint_auth_method: 'self_signed_tls_client_auth', jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: selfJwk.x }] }, ...base }, /jwks\.keys\[0\] is not a public key Node can import/],
  ])('%s → ConfigurationError naming the field', (_name, client, expected) => {
    expect(problemsOf([client])).toMatch(expected);
  });

  it('an escaped trailing space belongs to the value (RFC 4514 §2.4): such a DN is accepted', () => {
    expect(problemsOf([{ ...mtls, tls_client_auth_subject_dn: 'CN=\\ alice\\ ,O=Example' }])).toBe('');
  });

  it('without an mTLS method or a certificate reader: no binding in discovery, and a client asking for bound tokens is refused', () => {
    const flagged: MemoryClientDefinition = { client_id: 'b', client_secret: SERVICE_SECRET, tls_client_certificate_bound_access_tokens: true, ...base };
    let message = '';
    try {
      createTokenRouter(routerOptions({ clientAuthentication: {} }, [flagged]));
    } catch (error) {
      message = error instanceof ConfigurationError ? error.problems.join('\n') : String(error);
    }
    expect(message).toMatch(/tls_client_certificate_bound_access_tokens is true but the router reads no client certificates/);
    const plain = createTokenRouter(routerOptions({ clientAuthentication: {} }, CLIENTS.slice(6, 7).map((c) => ({ ...c, tls_client_certificate_bound_access_tokens: false }))));
    expect(plain.metadata().tls_client_certificate_bound_access_tokens).toBeUndefined();
    // With a reader alone (a secret client behind a proxy), binding is served and published.
    const reader = createTokenRouter(routerOptions({ clientAuthentication: { clientCertificate: () => undefined } }, [flagged]));
    expect(reader.metadata().tls_client_certificate_bound_access_tokens).toBe(true);
    // The member is computed: the host's metadata cannot claim otherwise.
    const hosted = createTokenRouter(routerOptions({ discovery: { metadata: { tls_client_certificate_bound_access_tokens: false } } }));
    expect(hosted.metadata().tls_client_certificate_bound_access_tokens).toBe(true);
  });

  it('without the methods in clientAuthentication.methods, an mTLS client is refused', () => {
    let message = '';
    try {
      createTokenRouter(routerOptions({ clientAuthentication: {} }, CLIENTS.slice(0, 1)));
    } catch (error) {
      message = error instanceof ConfigurationError ? error.problems.join('\n') : String(error);
    }
    expect(message).toMatch(/token_endpoint_auth_method "tls_client_auth" is not supported by this server/);
  });
});

describe('the client-authentication example (examples/client-authentication)', () => {
  it('gets an mTLS-bound token, uses it only with the certificate, and runs a custom method once', async () => {
    const { main } = await import('../../examples/client-authentication/methods');
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await main();
      expect(log).toHaveBeenCalledWith(expect.stringContaining('mTLS-bound token, a custom method, and a certificate from a proxy header work'));
    } finally {
      log.mockRestore();
    }
  });
});
