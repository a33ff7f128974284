// spec/security-model/envelope.spec.ts
// Rules of docs/security-model.md (A, B and N ids) that had no test of their own: the HTTP
// envelope, client authentication without side effects, and a sweep over every kind of answer
// for what must never happen (N107-N110, N113). Test names start with the rule id.
import request from 'supertest';
import { authorizationCode, clientCredentials, createMemoryStorage, deviceCode, refreshToken, type ClientRegistry, type GrantStrategy, type MemoryClientDefinition } from '../../lib';
import { basic, createCodeTestApp, createTestApp, SERVICE_SECRET, WEB_REDIRECT } from '../helpers/create-app';
import { CHALLENGE, codeInput, redeem, VERIFIER } from '../helpers/code-flow';
import { approval, createDeviceTestApp, DEVICE_CLIENTS, DEVICE_GRANT, pollDevice, SECOND, startApproved, startDevice, TV, VERIFICATION_URI } from '../helpers/device-flow';
import { refresh } from '../helpers/refresh-flow';
import { recordCalls } from '../helpers/record-calls';

const CC = 'grant_type=client_credentials&scope=api:read';

/** The RFC 6749 §5.2 envelope: JSON, no-store, no HTML, no stack, no token. */
function expectEnvelope(res: request.Response, status: number, error: string): void {
  expect({ status: res.status, error: res.body.error }).toEqual({ status, error });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers.pragma).toBe('no-cache');
  expect(res.text).not.toMatch(/<html|<!doctype|\bat \S+ \(|node_modules/i);
  expect(res.body.access_token).toBeUndefined();
}

describe('A. HTTP envelope and request parsing', () => {
  // A host-side body parser mounted *in front of* the router runs outside it (README: mount the
  // router first). What the router can guarantee: any HTTP error raised inside its route, in
  // the shape body-parser / http-errors give them, is rendered as the JSON envelope.
  it('A6 http-errors style failures inside the route become the JSON envelope, never HTML or a stack', async () => {
    let next: Error = new Error('unset');
    const throwing: GrantStrategy = { grantType: 'urn:test:throws', parameters: {}, allowPublicClients: false, handle: async () => { throw next; } };
    const { app, logged } = createTestApp({ grants: [throwing] }, [{ client_id: 'svc', client_secret: SERVICE_SECRET, grant_types: ['urn:test:throws'], scope: 'a' }]);
    const send = () => request(app).post('/connect/token').set('Authorization', basic('svc', SERVICE_SECRET)).type('form').send('grant_type=urn:test:throws');
    const httpError = (status: number, message: string, expose: boolean) => Object.assign(new Error(message), { status, statusCode: status, expose, type: 'entity.parse.failed' });

    next = httpError(413, 'request entity too large: 2000000 > 65536', true);
    const tooLarge = await send();
    expectEnvelope(tooLarge, 413, 'invalid_request');
    next = httpError(400, 'Unexpected token } in JSON at position 7', true);
    const unparsable = await send();
    expectEnvelope(unparsable, 400, 'invalid_request');
    next = httpError(415, 'unsupported charset "KOI8-R"', true);
    expectEnvelope(await send(), 400, 'invalid_request');
    // An error that does not say it may be shown is an internal one: a bare server_error.
    next = httpError(400, 'pg: relation "clients" does not exist', false);
    const internal = await send();
    expectEnvelope(internal, 500, 'server_error');
    expect(internal.body).toEqual({ error: 'server_error' });
    for (const res of [tooLarge, unparsable, internal]) expect(res.text).not.toMatch(/65536|Unexpected token|relation/);
    expect(logged.filter((entry) => entry.level === 'error')).toHaveLength(1);
  });

  it('A9 client_secret= with nothing else is no secret: a confidential client gets 401 invalid_client', async () => {
    const { app } = createTestApp();
    const res = await request(app).post('/connect/token').type('form').send(`${CC}&client_id=post-client&client_secret=`);
    expectEnvelope(res, 401, 'invalid_client');
    expect(res.headers['www-authenticate']).toBeUndefined();
    // …and exactly as if it had been omitted.
    const omitted = await request(app).post('/connect/token').type('form').send(`${CC}&client_id=post-client`);
    expect(omitted.text).toBe(res.text);
  });

  it('A10 an unknown parameter is ignored: not echoed, not stored, not reported', async () => {
    const memory = createMemoryStorage();
    const { storage, calls } = recordCalls(memory);
    const { app, tokenRouter, events } = createCodeTestApp({ storage });
    const { code } = await tokenRouter.issueAuthorizationCode(codeInput({ codeChallenge: CHALLENGE, codeChallengeMethod: 'S256' }));
    const res = await redeem(app, { code, redirect_uri: WEB_REDIRECT, code_verifier: VERIFIER, foo: 'unknown-marker-1', response_type: 'unknown-marker-2' });
    expect(res.status).toBe(200);
    for (const seen of [res.text, JSON.stringify(calls), JSON.stringify(events)]) expect(seen).not.toMatch(/unknown-marker/);
    memory.close();
  });

  it('A11 cookies have no effect on client identity, and no CORS or Set-Cookie header is sent', async () => {
    const { app } = createTestApp();
    const cookie = `client_id=post-client; client_secret=${SERVICE_SECRET}; connect.sid=s%3Aabc`;
    const ambient = await request(app).post('/connect/token').set('Cookie', cookie).set('Origin', 'https://evil.example').type('form').send(CC);
    expectEnvelope(ambient, 401, 'invalid_client');
    const ok = await request(app).post('/connect/token').set('Authorization', basic('service', SERVICE_SECRET)).set('Origin', 'https://spa.example.com').set('Cookie', cookie).type('form').send(CC);
    expect(ok.status).toBe(200);
    for (const res of [ambient, ok]) {
      for (const header of ['access-control-allow-origin', 'access-control-allow-credentials', 'set-cookie']) expect(res.headers[header]).toBeUndefined();
    }
  });
});

describe('B. client authentication', () => {
  it('B27 a failed client authentication makes no storage call at all, for every grant', async () => {
    const memory = createMemoryStorage();
    const { storage, calls } = recordCalls(memory);
    const harness = createDeviceTestApp({}, { storage });
    const { code } = await harness.tokenRouter.issueAuthorizationCode(codeInput({ scope: 'openid offline_access api:read' }));
    const device = await startApproved(harness);
    calls.length = 0;
    const wrong = { id: 'web', secret: 'wrong-secret-0000000000' } as const;
    const refused = [
      await redeem(harness.app, { code, redirect_uri: WEB_REDIRECT }, wrong),
      await refresh(harness.app, 'A'.repeat(43), wrong),
      await pollDevice(harness.app, device.device_code, { id: 'tv', secret: 'wrong-secret-0000000000' }),
      await pollDevice(harness.app, device.device_code, { id: 'tv', public: true }),
      await request(harness.app).post('/connect/token').type('form').send(`grant_type=authorization_code&code=${code}&redirect_uri=${encodeURIComponent(WEB_REDIRECT)}&client_id=nobody`),
    ];
    for (const res of refused) expectEnvelope(res, 401, 'invalid_client');
    expect(calls).toEqual([]);
    // Nothing was consumed or revoked: both still work for their owners.
    expect((await redeem(harness.app, { code, redirect_uri: WEB_REDIRECT })).status).toBe(200);
    expect((await pollDevice(harness.app, device.device_code, TV)).status).toBe(200);
    // (The recording works: the successful requests did reach storage.)
    expect(calls.map((call) => call.method)).toEqual(expect.arrayContaining(['findAuthorizationCode', 'consumeAuthorizationCode', 'consumeDeviceCode']));
    memory.close();
  });
});

describe('N. must never happen: a sweep over every kind of answer', () => {
  const SERVICE: MemoryClientDefinition = { client_id: 'service', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], scope: 'api:read' };

  it('N107 N108 N109 N113 every answer is JSON with no-store, never a redirect or HTML, 200 exactly when tokens are issued, never for GET or password', async () => {
    const harness = createDeviceTestApp({}, { grants: [deviceCode({ verificationUri: VERIFICATION_URI }), authorizationCode(), refreshToken(), clientCredentials()] }, [...DEVICE_CLIENTS, SERVICE]);
    const { app, tokenRouter, clock, events } = harness;
    const broken: ClientRegistry = { findClient: async () => { throw new Error('registry down'); } };
    const failing = createTestApp({ clients: broken }).app;
    const auth = basic('service', SERVICE_SECRET);
    const post = (body: string, authorization = auth) => request(app).post('/connect/token').set('Authorization', authorization).type('form').send(body);
    const answers: Array<{ label: string; res: request.Response; kind: 'token' | 'device' | 'error' | 'head' }> = [];
    const add = async (label: string, pending: request.Test | Promise<request.Response>, kind: 'token' | 'device' | 'error' | 'head' = 'error') => {
      answers.push({ label, res: await pending, kind });
    };
    const query = `?grant_type=client_credentials&client_id=service&client_secret=${SERVICE_SECRET}`;

    // Not POST, with credentials in the query (N107): never a token.
    const issuedBefore = events.filter((e) => e.type === 'token.issued').length;
    for (const method of ['get', 'put', 'delete', 'patch', 'options'] as const) await add(`${method} /token`, request(app)[method](`/connect/token${query}`));
    await add('head /token', request(app).head(`/connect/token${query}`), 'head');
    await add('get /deviceauthorization', request(app).get('/connect/deviceauthorization'));
    expect(events.filter((e) => e.type === 'token.issued').length).toBe(issuedBefore);

    // Successes of every grant.
    await add('client_credentials', post(CC), 'token');
    const { code } = await tokenRouter.issueAuthorizationCode(codeInput({ scope: 'openid offline_access api:read' }));
    const first = await redeem(app, { code, redirect_uri: WEB_REDIRECT });
    answers.push({ label: 'authorization_code', res: first, kind: 'token' });
    await add('refresh_token', refresh(app, first.body.refresh_token, { id: 'web', secret: SERVICE_SECRET }), 'token');
    await add('device authorization', request(app).post('/connect/deviceauthorization').set('Authorization', basic('tv', SERVICE_SECRET)).type('form').send('scope=openid'), 'device');
    const pending = await startDevice(app);
    await add('device pending', pollDevice(app, pending.device_code));
    await add('device slow_down', pollDevice(app, pending.device_code));
    const approved = await startApproved(harness, { scope: 'openid api:read' }, approval());
    await add('device approved', pollDevice(app, approved.device_code), 'token');
    clock.advance(10 * SECOND);
    await add('device replay', pollDevice(app, approved.device_code));
    await add('code replay', redeem(app, { code, redirect_uri: WEB_REDIRECT }));

    // Refusals of every layer.
    await add('password grant (N113)', post('grant_type=password&username=u&password=p'));
    await add('implicit grant (N113)', post('grant_type=implicit'));
    await add('wrong secret, Basic', post(CC, basic('service', 'wrong-secret-00000000')));
    await add('wrong secret, body', request(app).post('/connect/token').type('form').send(`${CC}&client_id=service&client_secret=wrong`));
    await add('malformed Basic', post(CC, 'Basic !!!'));
    await add('json body', request(app).post('/connect/token').set('Authorization', auth).type('json').send({ grant_type: 'client_credentials' }));
    await add('text body', request(app).post('/connect/token').set('Authorization', auth).set('Content-Type', 'text/plain').send(CC));
    await add('bad escape', post(`${CC}&x=%zz`));
    await add('repeated parameter', post(`${CC}&grant_type=client_credentials`));
    await add('credentials in the query', request(app).post(`/connect/token${query}`).type('form').send(CC));
    await add('body over the cap', post(`${CC}&pad=${'a'.repeat(70 * 1024)}`));
    await add('invalid_scope', post('grant_type=client_credentials&scope=admin'));
    await add('unauthorized_client', post(`grant_type=${encodeURIComponent(DEVICE_GRANT)}&device_code=x`));
    await add('server_error', request(failing).post('/connect/token').set('Authorization', auth).type('form').send(CC));

    const statuses = new Set(answers.map(({ res }) => res.status));
    expect([...statuses].sort((x, y) => x - y)).toEqual([200, 400, 401, 405, 413, 500]);
    for (const { label, res, kind } of answers) {
      const headers = { label, status: res.status, type: res.headers['content-type'], cache: res.headers['cache-control'], pragma: res.headers.pragma };
      expect(headers).toEqual({ label, status: res.status, type: expect.stringMatching(/^application\/json/), cache: 'no-store', pragma: 'no-cache' });
      expect({ label, redirect: res.status >= 300 && res.status < 400, location: res.headers.location }).toEqual({ label, redirect: false, location: undefined });
      expect({ label, html: /<html|<!doctype|<body/i.test(res.text ?? '') }).toEqual({ label, html: false });
      if (kind === 'head') continue;
      if (res.status === 200) {
        expect({ label, error: res.body.error, kind }).toEqual({ label, error: undefined, kind: kind === 'device' ? 'device' : 'token' });
        expect(typeof (kind === 'device' ? res.body.device_code : res.body.access_token)).toBe('string');
      } else {
        expect({ label, kind, error: typeof res.body.error }).toEqual({ label, kind: 'error', error: 'string' });
        for (const member of ['access_token', 'refresh_token', 'id_token', 'device_code']) expect({ label, [member]: res.body[member] }).toEqual({ label });
      }
    }
    const unsupported = answers.filter(({ label }) => label.includes('N113')).map(({ res }) => [res.status, res.body.error]);
    expect(unsupported).toEqual([[400, 'unsupported_grant_type'], [400, 'unsupported_grant_type']]);
  });
});
