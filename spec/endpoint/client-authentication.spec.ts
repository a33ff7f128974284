// spec/endpoint/client-authentication.spec.ts
// RFC 6749 §2.3 client authentication through HTTP (security model rules B12–B27).
import request from 'supertest';
import { hashClientSecret } from '../../lib';
import { basic, createTestApp, ISSUER, SERVICE_SECRET, WEIRD_SECRET } from '../helpers/create-app';

const CC = 'grant_type=client_credentials&scope=api:read';

function post(app: Parameters<typeof request>[0]) {
  return request(app).post('/connect/token').type('form');
}

describe('client_secret_basic', () => {
  const { app, events } = createTestApp();

  it('authenticates with Basic', async () => {
    const res = await post(app).set('Authorization', basic('service', SERVICE_SECRET)).send(CC);
    expect(res.status).toBe(200);
  });

  it('form-decodes id and secret before use (":" "%" "+" space and non-ASCII, RFC 6749 §2.3.1)', async () => {
    const res = await post(app).set('Authorization', basic('weird:id', WEIRD_SECRET)).send(CC);
    expect(res.status).toBe(200);
    expect(res.body.access_token).toEqual(expect.any(String));
  });

  it('does not accept the secret sent without form-encoding when it then decodes differently', async () => {
    // "a+b" unencoded decodes to "a b": a client that skips encoding fails rather than being guessed at.
    const raw = `Basic ${Buffer.from(`weird%3Aid:${WEIRD_SECRET.replace(/%/g, '%25')}`).toString('base64')}`;
    const res = await post(app).set('Authorization', raw).send(CC);
    expect(res.status).toBe(401);
  });

  it('accepts the scheme name in any case', async () => {
    const res = await post(app).set('Authorization', basic('service', SERVICE_SECRET).replace('Basic', 'bAsIc')).send(CC);
    expect(res.status).toBe(200);
  });

  it.each([
    ['not base64', 'Basic !!!notbase64!!!'],
    ['no colon', `Basic ${Buffer.from('service').toString('base64')}`],
    ['bad percent-escape', `Basic ${Buffer.from('service:%zz').toString('base64')}`],
    ['empty client id', `Basic ${Buffer.from(':secret').toString('base64')}`],
    ['another scheme', 'Bearer abc.def.ghi'],
    ['no credentials after the scheme', 'Basic'],
    ['a very long header', `Basic ${'A'.repeat(5000)}`],
  ])('answers a malformed Authorization header (%s) with 400 invalid_request', async (_what, header) => {
    const res = await post(app).set('Authorization', header).send(CC);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('accepts a body client_id equal to the Basic one', async () => {
    const res = await post(app).set('Authorization', basic('service', SERVICE_SECRET)).send(`${CC}&client_id=service`);
    expect(res.status).toBe(200);
  });

  it('rejects a body client_id that differs from the Basic one', async () => {
    const res = await post(app).set('Authorization', basic('service', SERVICE_SECRET)).send(`${CC}&client_id=post-client`);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });

  it('rejects a secret in the body and in Basic at once, even when both are right', async () => {
    const res = await post(app).set('Authorization', basic('service', SERVICE_SECRET)).send(`${CC}&client_secret=${SERVICE_SECRET}`);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });

  it('treats an empty body client_secret beside Basic as absent (not two methods)', async () => {
    const res = await post(app).set('Authorization', basic('service', SERVICE_SECRET)).send(`${CC}&client_secret=`);
    expect(res.status).toBe(200);
  });

  it('reports failures as events with a reason, never with the secret', async () => {
    events.length = 0;
    await post(app).set('Authorization', basic('service', 'wrong-secret-value-123')).send(CC);
    const failure = events.find((e) => e.type === 'client.authentication_failed');
    expect(failure).toMatchObject({ type: 'client.authentication_failed', clientId: 'service', reason: 'invalid_secret' });
    expect(JSON.stringify(events)).not.toContain('wrong-secret-value-123');
  });
});

describe('client_secret_post', () => {
  const { app } = createTestApp();

  it('authenticates with client_id and client_secret in the body', async () => {
    const res = await post(app).send(`${CC}&client_id=post-client&client_secret=${SERVICE_SECRET}`);
    expect(res.status).toBe(200);
  });

  it('lets a client registered for Basic use the body too (TelenorID+ behaviour, the default)', async () => {
    const res = await post(app).send(`${CC}&client_id=service&client_secret=${SERVICE_SECRET}`);
    expect(res.status).toBe(200);
  });

  it('lets a client registered for post use Basic too (the default)', async () => {
    const res = await post(app).set('Authorization', basic('post-client', SERVICE_SECRET)).send(CC);
    expect(res.status).toBe(200);
  });
});

describe('enforceRegisteredMethod', () => {
  const { app } = createTestApp({ clientAuthentication: { enforceRegisteredMethod: true } });

  it('rejects the body method for a client registered for Basic', async () => {
    const res = await post(app).send(`${CC}&client_id=service&client_secret=${SERVICE_SECRET}`);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  });

  it('rejects Basic for a client registered for the body method, with WWW-Authenticate', async () => {
    const res = await post(app).set('Authorization', basic('post-client', SERVICE_SECRET)).send(CC);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Basic realm=/);
  });

  it('accepts each client on its registered method', async () => {
    expect((await post(app).set('Authorization', basic('service', SERVICE_SECRET)).send(CC)).status).toBe(200);
    expect((await post(app).send(`${CC}&client_id=post-client&client_secret=${SERVICE_SECRET}`)).status).toBe(200);
  });
});

describe('failures are indistinguishable (RFC 6819 §4.3.5)', () => {
  const { app } = createTestApp();

  it('answers unknown client and wrong secret with the same status, headers and bytes (Basic)', async () => {
    const unknown = await post(app).set('Authorization', basic('nobody', SERVICE_SECRET)).send(CC);
    const wrong = await post(app).set('Authorization', basic('service', 'not-the-secret-0000')).send(CC);
    for (const res of [unknown, wrong]) {
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
      expect(res.headers['www-authenticate']).toBe(`Basic realm="${ISSUER}", charset="UTF-8"`);
      expect(res.headers['cache-control']).toBe('no-store');
    }
    expect(unknown.text).toBe(wrong.text);
    expect(unknown.headers['www-authenticate']).toBe(wrong.headers['www-authenticate']);
  });

  it('answers body-method failures with 401 and no WWW-Authenticate', async () => {
    const unknown = await post(app).send(`${CC}&client_id=nobody&client_secret=x`);
    const wrong = await post(app).send(`${CC}&client_id=post-client&client_secret=x`);
    for (const res of [unknown, wrong]) {
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
      expect(res.headers['www-authenticate']).toBeUndefined();
    }
    expect(unknown.text).toBe(wrong.text);
  });

  it('rejects a confidential client that sends only client_id', async () => {
    const res = await post(app).send(`${CC}&client_id=service`);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  });

  it('rejects a request with no client identification at all', async () => {
    const res = await post(app).send(CC);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  });

  it('rejects an overlong client_id without looking it up', async () => {
    const res = await post(app).send(`${CC}&client_id=${'x'.repeat(300)}&client_secret=y`);
    expect(res.status).toBe(401);
  });
});

describe('public clients (token_endpoint_auth_method none)', () => {
  const { app } = createTestApp();

  it('are identified by client_id alone but may not use client_credentials', async () => {
    const res = await post(app).send(`${CC}&client_id=public-app`);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('unauthorized_client');
  });

  it('are rejected when they send a secret in the body', async () => {
    const res = await post(app).send(`${CC}&client_id=public-app&client_secret=anything-at-all`);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  });

  it('are rejected when they send a secret with Basic', async () => {
    const res = await post(app).set('Authorization', basic('public-app', 'anything-at-all')).send(CC);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Basic /);
  });

  it('may identify themselves with Basic and an empty password', async () => {
    const res = await post(app).set('Authorization', `Basic ${Buffer.from('public-app:').toString('base64')}`).send(CC);
    // Identified (not 401), then refused for the grant: public clients cannot use client_credentials.
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('unauthorized_client');
  });
});

describe('secret rotation, expiry and custom verification', () => {
  const now = Date.UTC(2026, 0, 1) / 1000;
  const { app } = createTestApp({}, [
    {
      client_id: 'rotating',
      grant_types: ['client_credentials'],
      scope: 'api:read',
      client_secret_list: ['old-secret-0123456789abcdef', { secret: 'new-secret-0123456789abcdef' }, { secret: 'expired-secret-0123456789', expires_at: now - 1 }],
    },
    { client_id: 'hashed', grant_types: ['client_credentials'], scope: 'api:read', client_secrets: [{ sha256: hashClientSecret('hashed-secret-0123456789') }] },
    { client_id: 'verified', grant_types: ['client_credentials'], scope: 'api:read', verify_client_secret: async (s: string) => s === 'custom-secret-0123456789' },
  ]);

  it.each([['old-secret-0123456789abcdef'], ['new-secret-0123456789abcdef']])('accepts each current secret (%s)', async (secret) => {
    expect((await post(app).set('Authorization', basic('rotating', secret)).send(CC)).status).toBe(200);
  });

  it('rejects an expired secret', async () => {
    expect((await post(app).set('Authorization', basic('rotating', 'expired-secret-0123456789')).send(CC)).status).toBe(401);
  });

  it('accepts a secret stored only as a digest', async () => {
    expect((await post(app).set('Authorization', basic('hashed', 'hashed-secret-0123456789')).send(CC)).status).toBe(200);
    expect((await post(app).set('Authorization', basic('hashed', 'hashed-secret-01234567890')).send(CC)).status).toBe(401);
  });

  it('uses verify_client_secret when the registry provides it', async () => {
    expect((await post(app).set('Authorization', basic('verified', 'custom-secret-0123456789')).send(CC)).status).toBe(200);
    expect((await post(app).set('Authorization', basic('verified', 'other')).send(CC)).status).toBe(401);
  });
});

describe('constant-time comparison', () => {
  const { app } = createTestApp();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const crypto = require('node:crypto') as typeof import('node:crypto');

  afterEach(() => jest.restoreAllMocks());

  it('compares digests with timingSafeEqual for known and unknown clients alike', async () => {
    const spy = jest.spyOn(crypto, 'timingSafeEqual');
    await post(app).set('Authorization', basic('service', 'wrong-secret-000000')).send(CC);
    const known = spy.mock.calls.length;
    spy.mockClear();
    await post(app).set('Authorization', basic('nobody-here', 'wrong-secret-000000')).send(CC);
    const unknown = spy.mock.calls.length;
    expect(known).toBeGreaterThanOrEqual(1);
    expect(unknown).toBe(known);
    for (const [a, b] of spy.mock.calls) expect((a as Buffer).length).toBe((b as Buffer).length);
  });
});
