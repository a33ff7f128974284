// spec/endpoint/errors.spec.ts
// The error model: OAuthError passes through, everything else is a bare 500 server_error (security model rules L98–L101).
import request from 'supertest';
import { createMemoryClientRegistry, OAuthError, type ClientRegistry, type GrantStrategy } from '../../lib';
import { basic, createTestApp, SERVICE_SECRET, TEST_CLIENTS } from '../helpers/create-app';

function grant(handle: GrantStrategy['handle'], grantType = 'urn:test:custom'): GrantStrategy {
  return { grantType, parameters: {}, allowPublicClients: false, handle };
}

const CUSTOM_CLIENTS = [{ client_id: 'svc', client_secret: SERVICE_SECRET, grant_types: ['urn:test:custom'], scope: 'a' }];

describe('unexpected failures', () => {
  it('turns a throwing client registry into 500 server_error with no detail, and logs it', async () => {
    const clients: ClientRegistry = { findClient: async () => { throw new Error('db connection refused at 10.0.0.5:5432'); } };
    const { app, logged } = createTestApp({ clients });
    const res = await request(app).post('/connect/token').set('Authorization', basic('service', SERVICE_SECRET)).type('form').send('grant_type=client_credentials');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'server_error' });
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.text).not.toMatch(/10\.0\.0\.5|Error:|at /);
    expect(logged).toEqual([expect.objectContaining({ level: 'error', details: expect.objectContaining({ errorMessage: 'db connection refused at 10.0.0.5:5432', stack: expect.any(String) }) })]);
  });

  it('turns a plain Error from a grant into 500 server_error', async () => {
    const { app, logged } = createTestApp({ grants: [grant(async () => { throw new TypeError('cannot read properties of undefined'); })] }, CUSTOM_CLIENTS);
    const res = await request(app).post('/connect/token').set('Authorization', basic('svc', SERVICE_SECRET)).type('form').send('grant_type=urn:test:custom');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'server_error' });
    expect(logged).toHaveLength(1);
  });

  it('passes an OAuthError from a grant through with its status and headers', async () => {
    const { app, logged } = createTestApp({
      grants: [grant(async () => { throw new OAuthError('temporarily_unavailable', 'Try later.', { headers: { 'Retry-After': '7' } }); })],
    }, CUSTOM_CLIENTS);
    const res = await request(app).post('/connect/token').set('Authorization', basic('svc', SERVICE_SECRET)).type('form').send('grant_type=urn:test:custom');
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.body).toEqual({ error: 'temporarily_unavailable', error_description: 'Try later.' });
    expect(logged).toHaveLength(1);
  });

  it('keeps error_description to the RFC 6749 §5.2 character set', async () => {
    const { app } = createTestApp({ grants: [grant(async () => { throw new OAuthError('invalid_grant', 'bad "grant" \\ with ünïcode\nand newline'); })] }, CUSTOM_CLIENTS);
    const res = await request(app).post('/connect/token').set('Authorization', basic('svc', SERVICE_SECRET)).type('form').send('grant_type=urn:test:custom');
    expect(res.status).toBe(400);
    expect(res.body.error_description).toMatch(/^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/);
  });

  it('survives an onEvent listener that throws, and logs it', async () => {
    const { app, logged } = createTestApp({ onEvent: () => { throw new Error('listener broke'); } });
    const res = await request(app).post('/connect/token').set('Authorization', basic('service', SERVICE_SECRET)).type('form').send('grant_type=client_credentials');
    expect(res.status).toBe(200);
    expect(logged.some((l) => l.message.includes('onEvent'))).toBe(true);
  });

  it('reports rejected requests as events', async () => {
    const { app, events } = createTestApp();
    await request(app).post('/connect/token').set('Authorization', basic('service', SERVICE_SECRET)).type('form').send('grant_type=password');
    expect(events).toContainEqual(expect.objectContaining({ type: 'request.rejected', error: 'unsupported_grant_type', grantType: 'password' }));
  });
});

describe('OAuthError', () => {
  it.each([
    ['invalid_request', 400], ['invalid_client', 401], ['invalid_grant', 400], ['unauthorized_client', 400],
    ['unsupported_grant_type', 400], ['invalid_scope', 400], ['server_error', 500], ['temporarily_unavailable', 503],
  ] as const)('%s defaults to HTTP %d', (code, status) => {
    const error = new OAuthError(code, 'x');
    expect(error.status).toBe(status);
    expect(error.toJSON()).toEqual({ error: code, error_description: 'x' });
    expect(error).toBeInstanceOf(Error);
  });

  it('keeps the cause out of the body', () => {
    const error = new OAuthError('server_error', undefined, { cause: new Error('secret detail') });
    expect(JSON.stringify(error.toJSON())).toBe('{"error":"server_error"}');
    expect(error.cause).toBeInstanceOf(Error);
  });
});

// Keep the import of TEST_CLIENTS meaningful: the default registry still works beside custom ones.
test('the shared fixture registry builds', async () => {
  await expect(createMemoryClientRegistry(TEST_CLIENTS).findClient('service')).resolves.toMatchObject({ client_id: 'service' });
});
