// spec/grants/device-json-bodies.spec.ts
// Issue 14 item 5 (part): TelenorID+ accepts JSON bodies at the device authorization endpoint and
// for the device poll; a TV that polls with JSON gets invalid_request from every other server.
// Opt-in with deviceCode({ acceptJsonBodies: true }); parsed as strictly as a form: a flat object
// of strings, a repeated key refused (JSON.parse would keep the last silently), same size caps,
// UTF-8 only. Other grants keep refusing JSON.
import request from 'supertest';
import { clientCredentials, deviceCode } from '../../lib';
import { createDeviceTestApp, DEVICE_GRANT, SECOND, VERIFICATION_URI } from '../helpers/device-flow';
import { basic, SERVICE_SECRET } from '../helpers/create-app';

const TV_AUTH = basic('tv', SERVICE_SECRET);

function app(acceptJsonBodies: boolean | undefined) {
  return createDeviceTestApp({}, { grants: [deviceCode({ verificationUri: VERIFICATION_URI, ...(acceptJsonBodies !== undefined && { acceptJsonBodies }) }), clientCredentials()] });
}
const json = (harness: ReturnType<typeof app>, path: string, body: string) => request(harness.app).post(`/connect${path}`).set('Authorization', TV_AUTH).set('Content-Type', 'application/json').send(body);

describe('JSON bodies on the device endpoints', () => {
  it('are refused by default (invalid_request)', async () => {
    const res = await json(app(undefined), '/deviceauthorization', '{"scope":"openid"}');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });

  it('when on: the whole device flow runs with JSON bodies', async () => {
    const harness = app(true);
    const started = await json(harness, '/deviceauthorization', '{ "scope": "openid api:read" }');
    expect(started.status).toBe(200);
    const pending = await json(harness, '/token', JSON.stringify({ grant_type: DEVICE_GRANT, device_code: started.body.device_code }));
    expect(pending.body.error).toBe('authorization_pending');
    await harness.tokenRouter.deviceVerification.approve(started.body.user_code, { subject: 'user-1' });
    harness.clock.advance(5 * SECOND);
    const tokens = await json(harness, '/token', JSON.stringify({ grant_type: DEVICE_GRANT, device_code: started.body.device_code }));
    expect(tokens.status).toBe(200);
    expect(typeof tokens.body.access_token).toBe('string');
  });

  it.each<[string, string]>([
    ['a repeated key', '{"scope":"openid","scope":"api:read"}'],
    ['a number', '{"scope":1}'],
    ['a nested object', '{"scope":{"a":"b"}}'],
    ['an array', '["scope"]'],
    ['trailing text', '{"scope":"openid"} x'],
    ['bracket-named parameter', '{"scope[]":"openid"}'],
    ['not JSON at all', 'scope=openid'],
  ])('when on, still as strict as a form: %s → invalid_request', async (_label, body) => {
    const res = await json(app(true), '/deviceauthorization', body);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect(res.text).not.toContain('openid');
  });

  it('when on, the size cap and UTF-8 still hold', async () => {
    const harness = app(true);
    expect((await json(harness, '/deviceauthorization', JSON.stringify({ scope: 'x'.repeat(70_000) }))).status).toBe(413);
    const bad = await request(harness.app).post('/connect/deviceauthorization').set('Authorization', TV_AUTH).set('Content-Type', 'application/json')
      .send(Buffer.concat([Buffer.from('{"scope":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]));
    expect(bad.body.error).toBe('invalid_request');
  });

  it('when on, other grants still refuse a JSON body', async () => {
    const harness = app(true);
    const res = await request(harness.app).post('/connect/token').set('Authorization', basic('service', SERVICE_SECRET)).set('Content-Type', 'application/json').send('{"grant_type":"client_credentials"}');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });
});
