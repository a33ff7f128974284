// spec/endpoint/authorization-header.spec.ts
// Issue 13 item 8: with several Authorization headers Node keeps the first and drops the rest,
// while a proxy in front may have checked another one. Such a request is refused (invalid_request)
// at the token endpoint and at every endpoint a grant contributes.
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { clientCredentials, deviceCode } from '../../lib';
import { basic, createTestApp, SERVICE_SECRET } from '../helpers/create-app';

/** Sends raw headers (supertest cannot send one header twice). */
function post(port: number, path: string, headers: Array<[string, string]>, body: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST' }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => { text += chunk.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    for (const [name, value] of headers) req.appendHeader(name, value);
    req.end(body);
  });
}

describe('several Authorization headers', () => {
  const clients = [
    { client_id: 'svc', client_secret: SERVICE_SECRET, grant_types: ['client_credentials', 'urn:ietf:params:oauth:grant-type:device_code'], scope: 'api' },
    { client_id: 'other', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], scope: 'api' },
  ];
  const harness = createTestApp({ grants: [clientCredentials(), deviceCode({ verificationUri: 'https://id.example.test/device' })] }, clients);
  const server = harness.app.listen(0, '127.0.0.1');
  beforeAll(() => new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve()))));
  const port = () => (server.address() as AddressInfo).port;
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const form: [string, string] = ['Content-Type', 'application/x-www-form-urlencoded'];

  it('one header works; two are refused with invalid_request, whichever comes first', async () => {
    expect((await post(port(), '/connect/token', [form, ['Authorization', basic('svc', SERVICE_SECRET)]], 'grant_type=client_credentials')).status).toBe(200);
    for (const pair of [[basic('svc', SERVICE_SECRET), basic('other', SERVICE_SECRET)], [basic('other', 'wrong-secret-0123456789'), basic('svc', SERVICE_SECRET)]]) {
      const res = await post(port(), '/connect/token', [form, ['Authorization', pair[0]], ['Authorization', pair[1]]], 'grant_type=client_credentials');
      expect(res).toEqual({ status: 400, body: { error: 'invalid_request', error_description: 'The request has more than one Authorization header.' } });
    }
  });

  it('also at a contributed endpoint (device authorization)', async () => {
    const res = await post(port(), '/connect/deviceauthorization', [form, ['Authorization', basic('svc', SERVICE_SECRET)], ['authorization', basic('svc', SERVICE_SECRET)]], 'scope=api');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });
});
