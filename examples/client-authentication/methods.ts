// examples/client-authentication/methods.ts
// Client authentication beyond shared secrets: mutual TLS (RFC 8705) and a method of your own,
// both through `clientAuthentication.methods`. Run it: `npm run examples` (CI compiles and runs it).
import { strict as assert } from 'node:assert';
import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import {
  createMemoryClientRegistry,
  createMemoryStorage,
  createTokenRouter,
  tlsClientAuth,
  type ClientAuthenticationMethod,
} from 'express-token-endpoint';

/**
 * A method of your own: the client signs a fresh nonce with a key your registry holds
 * (`metadata.signing_key`); every nonce is used once (the router's storage records it atomically).
 */
export const signedNonce: ClientAuthenticationMethod = {
  name: 'example_signed_nonce',
  credential: 'client_id', // the request names the client with client_id; the proof is in headers
  checkClient: (client) => (typeof client.metadata?.signing_key === 'string' && client.metadata.signing_key.length >= 32 ? [] : ['metadata.signing_key must be a string of at least 32 characters']),
  async authenticate(client, request) {
    const nonce = request.headers['x-client-nonce'];
    const signature = request.headers['x-client-signature'];
    if (typeof nonce !== 'string' || typeof signature !== 'string' || nonce.length > 128) return { authenticated: false, reason: 'invalid_credentials' };
    const expected = createHmac('sha256', String(client.metadata?.signing_key)).update(nonce).digest('base64url');
    if (signature !== expected) return { authenticated: false, reason: 'invalid_credentials' };
    const firstUse = await request.recordOneTimeUse(nonce, request.now + 5 * 60_000);
    return firstUse ? { authenticated: true } : { authenticated: false, reason: 'invalid_credentials' };
  },
};

// Test certificates from this repository (a CA, a server certificate for localhost, a client of the
// CA), read from the repository root where `npm run examples` runs.
const certificates = join(process.cwd(), 'spec', 'fixtures', 'mtls');
const pem = (name: string) => readFileSync(join(certificates, name), 'utf8');
const SIGNING_KEY = 'a-signing-key-your-registry-keeps-0123456789';

export async function main(): Promise<void> {
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
  const app = express();
  app.use('/connect', tokenRouter);
  app.get('/api/invoices', tokenRouter.requireAccessToken({ audience: 'https://localhost', scope: 'invoices:read' }), (_req, res) => {
    res.json({ invoices: [] });
  });
  // The TLS server asks for client certificates; rejectUnauthorized: false lets the methods judge them
  // (tls_client_auth requires the CA's signature, self_signed_tls_client_auth would not).
  const server = createServer({ key: pem('server-key.pem'), cert: pem('server.pem'), ca: pem('ca.pem'), requestCert: true, rejectUnauthorized: false }, app);
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
    console.log('client authentication example: mTLS-bound token and a custom method work');
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
