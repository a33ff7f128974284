// spec/endpoint/http-envelope.spec.ts
// RFC 6749 §3.2/§5: body parsing, methods, headers and the JSON error envelope (security model rules A, I, N).
import express from 'express';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { basic, createTestApp, SERVICE_SECRET } from '../helpers/create-app';

const CC = 'grant_type=client_credentials&scope=api:read';

function expectErrorEnvelope(res: request.Response, status: number, error: string): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers.pragma).toBe('no-cache');
  expect(res.body.error).toBe(error);
  expect(typeof res.body.error_description).toBe('string');
  expect(res.text).not.toMatch(/<html|at \w+ \(|node_modules/i);
  expect(res.body.access_token).toBeUndefined();
}

describe('content type and body parsing', () => {
  const { app } = createTestApp();
  const auth = basic('service', SERVICE_SECRET);

  it.each([
    'application/x-www-form-urlencoded',
    'APPLICATION/X-WWW-FORM-URLENCODED',
    'application/x-www-form-urlencoded; charset=UTF-8',
    'Application/X-Www-Form-Urlencoded;charset="utf-8"',
  ])('accepts %s', async (type) => {
    const res = await request(app).post('/connect/token').set('Authorization', auth).set('Content-Type', type).send(CC);
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('Bearer');
  });

  it.each([
    ['application/json', JSON.stringify({ grant_type: 'client_credentials' })],
    ['text/plain', CC],
    ['multipart/form-data; boundary=x', `--x\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\nclient_credentials\r\n--x--`],
    ['application/x-www-form-urlencoded; charset=iso-8859-1', CC],
    ['application/x-www-form-urlencoded-evil', CC],
  ])('rejects %s with invalid_request', async (type, body) => {
    const res = await request(app).post('/connect/token').set('Authorization', auth).set('Content-Type', type).send(body);
    expectErrorEnvelope(res, 400, 'invalid_request');
  });

  it('rejects a body without a content type', async () => {
    const res = await request(app).post('/connect/token').set('Authorization', auth).set('Content-Type', '').send(Buffer.from(CC));
    expectErrorEnvelope(res, 400, 'invalid_request');
  });

  it('treats an empty POST as a request without grant_type', async () => {
    const res = await request(app).post('/connect/token').set('Authorization', auth);
    expectErrorEnvelope(res, 400, 'invalid_request');
    expect(res.body.error_description).toMatch(/grant_type/);
  });

  it('answers 413 with the JSON envelope for a body over the cap (declared length)', async () => {
    const res = await request(app).post('/connect/token').set('Authorization', auth).type('form').send(`${CC}&pad=${'a'.repeat(70 * 1024)}`);
    expectErrorEnvelope(res, 413, 'invalid_request');
  });

  it('answers 413 for a chunked body over the cap without buffering it all', async () => {
    const server = app.listen(0);
    try {
      const { port } = server.address() as AddressInfo;
      const result = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request({ port, method: 'POST', path: '/connect/token', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: auth, 'Transfer-Encoding': 'chunked' } }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        const chunk = 'a'.repeat(16 * 1024);
        req.write(`${CC}&pad=`);
        for (let i = 0; i < 6; i += 1) req.write(chunk);
        req.end();
      });
      expect(result.status).toBe(413);
      expect(JSON.parse(result.body).error).toBe('invalid_request');
    } finally {
      server.close();
    }
  });

  it.each([
    ['an invalid percent-escape', `${CC}&client_id=%zz`],
    ['a truncated percent-escape', `${CC}&foo=%E2%82`],
    ['percent-encoded invalid UTF-8', `${CC}&foo=%C3%28`],
  ])('rejects %s', async (_what, body) => {
    const res = await request(app).post('/connect/token').set('Authorization', auth).type('form').send(body);
    expectErrorEnvelope(res, 400, 'invalid_request');
  });

  // The bytes as they are: superagent would otherwise turn a Buffer into a form of its indices.
  const sendBytes = (body: Buffer) =>
    request(app).post('/connect/token').set('Authorization', auth).set('Content-Type', 'application/x-www-form-urlencoded').serialize((data: unknown) => data as string).send(body);

  it('rejects raw invalid UTF-8 bytes', async () => {
    const res = await sendBytes(Buffer.concat([Buffer.from(`${CC}&foo=`), Buffer.from([0xc3, 0x28])]));
    expectErrorEnvelope(res, 400, 'invalid_request');
    expect(res.body.error_description).toMatch(/UTF-8/);
  });

  // Found by spec/fuzz: a genuine U+FFFD elsewhere in the body used to let invalid bytes through.
  it('rejects raw invalid UTF-8 bytes also when the body holds a genuine U+FFFD', async () => {
    const res = await sendBytes(Buffer.concat([Buffer.from(`${CC}&note=\uFFFD&foo=`, 'utf8'), Buffer.from([0xff])]));
    expectErrorEnvelope(res, 400, 'invalid_request');
    expect(res.body.error_description).toMatch(/UTF-8/);
  });

  it('accepts a genuine raw U+FFFD in an unknown parameter', async () => {
    const res = await sendBytes(Buffer.from(`${CC}&note=\uFFFD`, 'utf8'));
    expect(res.status).toBe(200);
  });

  it('rejects compressed bodies', async () => {
    const res = await request(app).post('/connect/token').set('Authorization', auth).set('Content-Encoding', 'gzip').type('form').send(CC);
    expectErrorEnvelope(res, 400, 'invalid_request');
  });

  it('rejects too many parameters', async () => {
    const many = Array.from({ length: 100 }, (_, i) => `p${i}=1`).join('&');
    const res = await request(app).post('/connect/token').set('Authorization', auth).type('form').send(`${CC}&${many}`);
    expectErrorEnvelope(res, 400, 'invalid_request');
  });
});

describe('parameters (RFC 6749 §3.2)', () => {
  const { app } = createTestApp();
  const auth = basic('service', SERVICE_SECRET);

  it.each([
    ['grant_type', 'grant_type=client_credentials&grant_type=client_credentials'],
    ['scope', 'grant_type=client_credentials&scope=api:read&scope=api:read'],
    ['an unknown parameter', `${CC}&foo=1&foo=2`],
    ['an empty repeat', `${CC}&scope=`],
  ])('rejects a repeated parameter: %s', async (_what, body) => {
    const res = await request(app).post('/connect/token').set('Authorization', auth).type('form').send(body);
    expectErrorEnvelope(res, 400, 'invalid_request');
  });

  it('rejects a repeated client_id in the body', async () => {
    const res = await request(app).post('/connect/token').type('form').send(`${CC}&client_id=post-client&client_id=post-client&client_secret=${SERVICE_SECRET}`);
    expectErrorEnvelope(res, 400, 'invalid_request');
  });

  it.each([['code[]=x'], ['scope[a]=b'], ['grant_type[]=client_credentials']])('rejects bracket syntax %s', async (extra) => {
    const res = await request(app).post('/connect/token').set('Authorization', auth).type('form').send(`${CC}&${extra}`);
    expectErrorEnvelope(res, 400, 'invalid_request');
  });

  it('treats an empty value as absent (scope= gets the default scope)', async () => {
    const res = await request(app).post('/connect/token').set('Authorization', auth).type('form').send('grant_type=client_credentials&scope=');
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('api:read api:write');
  });

  it('treats an empty grant_type as missing', async () => {
    const res = await request(app).post('/connect/token').set('Authorization', auth).type('form').send('grant_type=&scope=api:read');
    expectErrorEnvelope(res, 400, 'invalid_request');
  });

  it('ignores unknown parameters and does not echo them', async () => {
    const res = await request(app).post('/connect/token').set('Authorization', auth).type('form').send(`${CC}&response_type=token&foo=bar-marker`);
    expect(res.status).toBe(200);
    expect(res.text).not.toContain('bar-marker');
  });

  it('decodes + as space in values', async () => {
    const res = await request(app).post('/connect/token').set('Authorization', auth).type('form').send('grant_type=client_credentials&scope=api:read+api:write');
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('api:read api:write');
  });
});

describe('methods and the URL query', () => {
  const { app, events } = createTestApp();

  it.each(['get', 'put', 'delete', 'patch'] as const)('%s → 405 with Allow: POST and the JSON envelope', async (method) => {
    const res = await request(app)[method]('/connect/token?grant_type=client_credentials&client_id=post-client&client_secret=' + SERVICE_SECRET);
    expectErrorEnvelope(res, 405, 'invalid_request');
    expect(res.headers.allow).toBe('POST');
  });

  it('never issues for a GET with credentials in the query', async () => {
    const before = events.filter((e) => e.type === 'token.issued').length;
    await request(app).get(`/connect/token?grant_type=client_credentials&client_id=post-client&client_secret=${SERVICE_SECRET}`);
    expect(events.filter((e) => e.type === 'token.issued').length).toBe(before);
  });

  it('refuses a POST carrying credentials in the query and does not use them', async () => {
    const res = await request(app).post(`/connect/token?client_secret=${SERVICE_SECRET}`).type('form').send(`${CC}&client_id=post-client`);
    expectErrorEnvelope(res, 400, 'invalid_request');
  });

  it('does not mind an unrelated query parameter', async () => {
    const res = await request(app).post('/connect/token?tenant=a').set('Authorization', basic('service', SERVICE_SECRET)).type('form').send(CC);
    expect(res.status).toBe(200);
  });
});

describe('success headers and body (RFC 6749 §5.1)', () => {
  const { app } = createTestApp();

  it('sends no-store, no-cache, JSON, and no null members', async () => {
    const res = await request(app).post('/connect/token').set('Authorization', basic('service', SERVICE_SECRET)).type('form').send(CC);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.pragma).toBe('no-cache');
    expect(res.headers.etag).toBeUndefined();
    expect(Object.values(res.body)).not.toContain(null);
    expect(Object.keys(res.body).sort()).toEqual(['access_token', 'expires_in', 'scope', 'token_type']);
    expect(Number.isInteger(res.body.expires_in)).toBe(true);
    expect(res.text).not.toContain(SERVICE_SECRET);
  });
});

describe('a host that parsed the body before the router', () => {
  it('still works with express.urlencoded() in front, and still rejects repeated parameters', async () => {
    const { app: inner } = createTestApp();
    const app = express();
    app.use(express.urlencoded({ extended: false }));
    app.use(inner);
    const ok = await request(app).post('/connect/token').set('Authorization', basic('service', SERVICE_SECRET)).type('form').send(CC);
    expect(ok.status).toBe(200);
    const dup = await request(app).post('/connect/token').set('Authorization', basic('service', SERVICE_SECRET)).type('form').send(`${CC}&grant_type=client_credentials`);
    expectErrorEnvelope(dup, 400, 'invalid_request');
  });

  it('says so once: logger.warn names the weaker checks and the fix (issue 17: nothing said so)', async () => {
    const { app: inner, logged } = createTestApp();
    const app = express();
    app.use(express.urlencoded({ extended: false }));
    app.use(inner);
    for (let i = 0; i < 3; i += 1) expect((await request(app).post('/connect/token').set('Authorization', basic('service', SERVICE_SECRET)).type('form').send(CC)).status).toBe(200);
    const warnings = logged.filter((entry) => entry.level === 'warn' && /body parser/.test(entry.message));
    expect(warnings).toHaveLength(1);
    expect(warnings[0].message).toMatch(/percent-escape/);
    expect(warnings[0].message).toMatch(/Mount the token router before global body parsers/);
  });

  it('without a host parser, nothing is logged', async () => {
    const { app, logged } = createTestApp();
    expect((await request(app).post('/connect/token').set('Authorization', basic('service', SERVICE_SECRET)).type('form').send(CC)).status).toBe(200);
    expect(logged.filter((entry) => /body parser/.test(entry.message))).toEqual([]);
  });

  it('rejects nested objects from an extended parser', async () => {
    const { app: inner } = createTestApp();
    const app = express();
    app.use(express.urlencoded({ extended: true }));
    app.use(inner);
    const res = await request(app).post('/connect/token').set('Authorization', basic('service', SERVICE_SECRET)).type('form').send(`${CC}&scope2[a]=b`);
    expectErrorEnvelope(res, 400, 'invalid_request');
  });
});
