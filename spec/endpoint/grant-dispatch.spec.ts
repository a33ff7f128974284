// spec/endpoint/grant-dispatch.spec.ts
// grant_type handling and the fixed check order (security model rules C28–C35).
import request from 'supertest';
import { basic, createTestApp, SERVICE_SECRET } from '../helpers/create-app';

describe('grant_type dispatch', () => {
  const { app } = createTestApp();
  const post = (body: string, auth = basic('service', SERVICE_SECRET)) => request(app).post('/connect/token').set('Authorization', auth).type('form').send(body);

  it('missing grant_type → 400 invalid_request', async () => {
    const res = await post('scope=api:read');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });

  it.each(['password', 'implicit', 'foo', 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'x'.repeat(300)])('unknown grant %s → 400 unsupported_grant_type', async (grant) => {
    const res = await post(`grant_type=${grant}&username=a&password=b`);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('unsupported_grant_type');
  });

  it('grant not in the client\'s grant_types → 400 unauthorized_client', async () => {
    // The client_credentials strategy is served, but "code-only" is registered without it (RFC 7591 default: authorization_code).
    const res = await post('grant_type=client_credentials', basic('code-only', SERVICE_SECRET));
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('unauthorized_client');
  });

  it('checks client authentication before the grant type (bad client + unknown grant → invalid_client)', async () => {
    const res = await post('grant_type=password', basic('service', 'wrong-secret-000000'));
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  });

  it('checks grant support before client permission (unknown grant for a known client → unsupported_grant_type)', async () => {
    const res = await post('grant_type=urn:ietf:params:oauth:grant-type:device_code&device_code=x', basic('code-only', SERVICE_SECRET));
    expect(res.body.error).toBe('unsupported_grant_type');
  });

  it('checks client permission before scope (unauthorized_client wins over invalid_scope)', async () => {
    const res = await post('grant_type=client_credentials&scope=nope', basic('code-only', SERVICE_SECRET));
    expect(res.body.error).toBe('unauthorized_client');
  });
});
