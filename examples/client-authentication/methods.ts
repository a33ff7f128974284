// examples/client-authentication/methods.ts
// Client authentication beyond shared secrets: mutual TLS (RFC 8705) and a method of your own,
// both through `clientAuthentication.methods`. Run it: `npm run examples` (CI compiles and runs it).
import { strict as assert } from 'node:assert';
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import {
  createMemoryClientRegistry,
  createMemoryStorage,
  createTokenRouter,
  certificateFromClientCertHeader,
  tlsClientAuth,
  type ClientAuthenticationMethod,
  type ClientAuthenticationOptions,
} from 'express-token-endpoint';
import { X509Certificate } from 'node:crypto';
import request from 'supertest';

/**
 * A method of your own: the client signs a fresh nonce with a key your registry holds
 * (`metadata.signing_key`); every nonce is used once (the router's storage records it atomically).
 */
// #region signed-nonce
export const signedNonce: ClientAuthenticationMethod = {
  name: 'example_signed_nonce',
  credential: 'client_id', // the request names the client with client_id; the proof is in headers
  checkClient: (client) => (typeof client.metadata?.signing_key === 'string' && client.metadata.signing_key.length >= 32 ? [] : ['metadata.signing_key must be a string of at least 32 characters']),
  async authenticate(client, request) {
    const nonce = request.headers['x-client-nonce'];
    const signature = request.headers['x-client-signature'];
    if (typeof nonce !== 'string' || typeof signature !== 'string' || nonce.length > 128) return { authenticated: false, reason: 'invalid_credentials' };
    // Constant time, on equal-length digests (the signature's digest, not its caller-chosen length).
    const expected = createHash('sha256').update(createHmac('sha256', String(client.metadata?.signing_key)).update(nonce).digest('base64url')).digest();
    if (!timingSafeEqual(createHash('sha256').update(signature).digest(), expected)) return { authenticated: false, reason: 'invalid_credentials' };
    const firstUse = await request.recordOneTimeUse(nonce, request.now + 5 * 60_000);
    return firstUse ? { authenticated: true } : { authenticated: false, reason: 'invalid_credentials' };
  },
};
// #endregion signed-nonce

/** Behind a TLS-terminating proxy that forwards the client certificate in an RFC 9440 header. */
export function behindProxy(): ClientAuthenticationOptions {
  // #region proxy-certificate
  const clientAuthentication: ClientAuthenticationOptions = {
    methods: [tlsClientAuth()],
    clientCertificate: (req) => {
      const certificate = certificateFromClientCertHeader(req.headers['client-cert']);
      // Only your proxy may set these headers: it must strip them from clients' requests.
      return certificate && { certificate, chainVerified: req.headers['x-client-verified'] === 'SUCCESS' };
    },
  };
  // #endregion proxy-certificate
  return clientAuthentication;
}

// Test certificates from this repository (a CA, a server certificate for localhost, a client of the
// CA), read from the repository root where `npm run examples` runs.
const certificates = join(process.cwd(), 'spec', 'fixtures', 'mtls');
const pem = (name: string) => readFileSync(join(certificates, name), 'utf8');
const SIGNING_KEY = 'a-signing-key-your-registry-keeps-0123456789';

export async function main(): Promise<void> {
  // #region mtls-router
  const tokenRouter = createTokenRouter({
    issuer: 'https://localhost',
    signingKeys: [{ kid: 'k1', alg: 'ES256', privateKey: pem('server-key.pem') }],
    clients: createMemoryClientRegistry([
      // RFC 8705 §2.1: a CA-issued certificate with this subject; its tokens are bound to it (§3).
      { client_id: 'billing', token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: 'CN=service one,O=Example\\, Inc.,C=NO', tls_client_certificate_bound_access_tokens: true, grant_types: ['client_credentials'], scope: 'invoices:read' },
      { client_id: 'reports', token_endpoint_auth_method: 'example_signed_nonce', metadata: { signing_key: SIGNING_KEY }, grant_types: ['client_credentials'], scope: 'invoices:read' },
    ]),
    storage: createMemoryStorage(),
    clientAuthentication: { methods: [tlsClientAuth(), signedNonce] },
  });
  // #endregion mtls-router
  const app = express();
  app.use('/connect', tokenRouter);
  app.get('/api/invoices', tokenRouter.requireAccessToken({ audience: 'https://localhost', scope: 'invoices:read' }), (_req, res) => {
    res.json({ invoices: [] });
  });
  // #region mtls-server
  // The TLS server asks for client certificates and trusts your client CA only. rejectUnauthorized: false
  // lets the methods judge them (tls_client_auth requires the CA's signature, self_signed_tls_client_auth would not).
  const server = createServer({ key: pem('server-key.pem'), cert: pem('server.pem'), ca: pem('ca.pem'), requestCert: true, rejectUnauthorized: false }, app);
  // #endregion mtls-server
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const call = (method: string, path: string, options: { body?: string; headers?: Record<string, string>; withCertificate?: boolean }) =>
    new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
      const req = httpsRequest({
        host: 'localhost', port, method, path, ca: pem('ca.pem'),
        ...(options.withCertificate === true && { cert: pem('client.pem'), key: pem('client-key.pem') }),
        headers: { ...(options.body !== undefined && { 'content-type': 'application/x-www-form-urlencoded' }), ...options.headers },
      }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
      });
      req.on('error', reject);
      req.end(options.body);
    });

  try {
    // mTLS: the certificate authenticates the client and binds its token.
    const token = await call('POST', '/connect/token', { body: 'grant_type=client_credentials&client_id=billing', withCertificate: true });
    assert.equal(token.status, 200);
    const accessToken = String(token.body.access_token);
    assert.equal((await call('GET', '/api/invoices', { headers: { authorization: `Bearer ${accessToken}` }, withCertificate: true })).status, 200);
    // The same token without the certificate is refused: it is bound to it.
    assert.equal((await call('GET', '/api/invoices', { headers: { authorization: `Bearer ${accessToken}` } })).status, 401);

    // Your own method: a signed nonce, once.
    const nonce = randomUUID();
    const headers = { 'x-client-nonce': nonce, 'x-client-signature': createHmac('sha256', SIGNING_KEY).update(nonce).digest('base64url') };
    assert.equal((await call('POST', '/connect/token', { body: 'grant_type=client_credentials&client_id=reports', headers })).status, 200);
    assert.equal((await call('POST', '/connect/token', { body: 'grant_type=client_credentials&client_id=reports', headers })).status, 401);

    // Behind a proxy: the certificate arrives in the Client-Cert header (RFC 9440), verified by the proxy.
    const proxied = createTokenRouter({
      issuer: 'https://localhost',
      signingKeys: [{ kid: 'k1', alg: 'ES256', privateKey: pem('server-key.pem') }],
      clients: createMemoryClientRegistry([{ client_id: 'billing', token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: 'CN=service one,O=Example\\, Inc.,C=NO', grant_types: ['client_credentials'], scope: 'invoices:read' }]),
      storage: createMemoryStorage(),
      clientAuthentication: behindProxy(),
    });
    const proxyApp = express().use('/connect', proxied);
    const header = `:${new X509Certificate(pem('client.pem')).raw.toString('base64')}:`;
    const viaProxy = (verified: string) => request(proxyApp).post('/connect/token').set('client-cert', header).set('x-client-verified', verified).type('form').send({ grant_type: 'client_credentials', client_id: 'billing' });
    assert.equal((await viaProxy('SUCCESS')).status, 200);
    assert.equal((await viaProxy('FAILED')).status, 401);
    console.log('client authentication example: mTLS-bound token, a custom method, and a certificate from a proxy header work');
  } finally {
    server.close();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
