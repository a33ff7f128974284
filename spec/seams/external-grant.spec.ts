// spec/seams/external-grant.spec.ts
// Issue 12: a grant written outside lib/ from exported names only can do everything a built-in
// does. spec/fixtures/external-device-grant.ts is a copy of the device grant built that way; here
// the whole device flow runs through it, next to the built-in refresh grant.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import ts from 'typescript';
import { clientCredentials, createMemoryStorage, refreshToken } from 'express-token-endpoint';
import { withLatency } from 'express-token-endpoint/testing';
import { COPY_GRANT_TYPE, deviceCodeCopy } from '../fixtures/external-device-grant';
import { basic, createTestApp, decodeJwt, SERVICE_SECRET } from '../helpers/create-app';

describe('a device grant built outside lib/', () => {
  it('imports nothing but the package entry and node built-ins', () => {
    const source = readFileSync(join(__dirname, '..', 'fixtures', 'external-device-grant.ts'), 'utf8');
    const imports = ts.preProcessFile(source, true, true).importedFiles.map((file) => file.fileName);
    expect(imports.length).toBeGreaterThan(0);
    expect(imports.filter((name) => name !== 'express-token-endpoint' && !name.startsWith('node:'))).toEqual([]);
  });

  const clients = [
    { client_id: 'tv', token_endpoint_auth_method: 'none' as const, grant_types: [COPY_GRANT_TYPE, 'refresh_token'], scope: 'openid offline_access api', refresh_token_policy: { type: 'sliding' as const, lifetime: 3600 } },
    { client_id: 'svc', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], scope: 'api' },
  ];

  function app() {
    const copy = deviceCodeCopy({ verificationUri: 'https://id.example.test/device' });
    // Storage with latency: the race below runs against a store that yields between steps.
    const storage = withLatency(createMemoryStorage(), () => 1 + Math.random() * 2);
    const harness = createTestApp({ grants: [copy.grant, refreshToken({ retryWindowSeconds: 0 }), clientCredentials()], storage }, clients);
    return { ...harness, verification: copy.verification };
  }
  const authorize = (target: ReturnType<typeof app>, body: string) => request(target.app).post('/connect/device-copy').type('form').send(`client_id=tv&${body}`);
  const poll = (target: ReturnType<typeof app>, deviceCode: string) => request(target.app).post('/connect/token').type('form')
    .send({ grant_type: COPY_GRANT_TYPE, client_id: 'tv', device_code: deviceCode });

  it('runs the device flow: authorization endpoint, pending, approval, tokens with a refresh token, replay revokes', async () => {
    const target = app();
    const started = await authorize(target, 'scope=openid offline_access api');
    expect(started.status).toBe(200);
    expect(started.headers['cache-control']).toBe('no-store');
    expect(started.body).toMatchObject({ device_code: expect.any(String), user_code: expect.stringMatching(/^[A-Z]{8}$/), interval: 5 });

    expect((await poll(target, started.body.device_code)).body.error).toBe('authorization_pending');
    expect(await target.verification.approve(started.body.user_code.toLowerCase(), { subject: 'user-7', authTime: 1_700_000_000 })).toBe(true);
    target.clock.advance(5_000);
    const tokens = await poll(target, started.body.device_code);
    expect(tokens.status).toBe(200);
    expect(decodeJwt(tokens.body.access_token).payload).toMatchObject({ sub: 'user-7', client_id: 'tv', scope: 'openid offline_access api' });
    expect(decodeJwt(tokens.body.id_token).payload.sub).toBe('user-7');
    expect(typeof tokens.body.refresh_token).toBe('string');
    expect(target.events.filter((event) => event.type === 'token.issued')).toEqual([expect.objectContaining({ grantType: COPY_GRANT_TYPE, subject: 'user-7', refreshTokenIssued: true })]);

    // The built-in refresh grant accepts the family the external grant started.
    const refreshed = await request(target.app).post('/connect/token').type('form').send({ grant_type: 'refresh_token', client_id: 'tv', refresh_token: tokens.body.refresh_token });
    expect(refreshed.status).toBe(200);

    // A second redemption is a replay: refused, and the family is revoked.
    target.clock.advance(5_000);
    expect((await poll(target, started.body.device_code)).body.error).toBe('invalid_grant');
    const afterReplay = await request(target.app).post('/connect/token').type('form').send({ grant_type: 'refresh_token', client_id: 'tv', refresh_token: refreshed.body.refresh_token });
    expect(afterReplay.body.error).toBe('invalid_grant');
  });

  it('keeps the built-in guarantees: 20 parallel polls of an approved code → exactly one 200', async () => {
    const target = app();
    const started = await authorize(target, 'scope=api');
    await target.verification.approve(started.body.user_code, { subject: 'user-8' });
    target.clock.advance(5_000);
    const answers = await Promise.all(Array.from({ length: 20 }, () => poll(target, started.body.device_code)));
    expect(answers.filter((res) => res.status === 200)).toHaveLength(1);
  });

  it('its endpoint refuses clients without the grant and scopes outside the registration', async () => {
    const target = app();
    const wrongClient = await request(target.app).post('/connect/device-copy').set('Authorization', basic('svc', SERVICE_SECRET)).type('form').send('scope=api');
    expect(wrongClient.body.error).toBe('unauthorized_client');
    expect((await authorize(target, 'scope=admin')).body.error).toBe('invalid_scope');
  });
});
