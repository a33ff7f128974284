// spec/telemetry/opentelemetry.spec.ts
// openTelemetry() from express-token-endpoint/opentelemetry with the SDK's in-memory exporters:
// a span per request (token, device authorization, revocation, introspection) with its grant
// type, client, outcome and error code; child spans for storage calls and signing under it;
// metrics after a known sequence of requests; nothing secret in any span or metric.
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { authorizationCode, clientCredentials, createMemoryStorage, deviceCode, introspection, refreshToken, revocation, type MemoryClientDefinition, type StorageAdapter, type TokenRouterOptions } from '../../lib';
import { openTelemetry } from '../../lib/opentelemetry';
import { redeem } from '../helpers/code-flow';
import { basic, createCodeTestApp, SERVICE_SECRET, WEB_REDIRECT, type CodeTestApp, type TestClock } from '../helpers/create-app';
import { DEVICE_GRANT, pollDevice, startApproved, TV_SCOPE, VERIFICATION_URI } from '../helpers/device-flow';
import { counterValue, createOtelHarness, everyRecordedValue, histogramCount, parentOf, type OtelHarness } from './otel-harness';

const CLIENTS: MemoryClientDefinition[] = [
  { client_id: 'service', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], scope: 'api:read' },
  { client_id: 'web', client_secret: SERVICE_SECRET, grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [WEB_REDIRECT], scope: 'openid offline_access api:read' },
  { client_id: 'tv', client_secret: SERVICE_SECRET, grant_types: [DEVICE_GRANT, 'refresh_token'], scope: TV_SCOPE },
];
const WEB = { id: 'web', secret: SERVICE_SECRET };

let otel: OtelHarness;
beforeEach(() => {
  otel = createOtelHarness();
});
afterEach(() => otel.shutdown());

function createApp(overrides: Partial<TokenRouterOptions> | ((clock: TestClock) => Partial<TokenRouterOptions>) = {}): CodeTestApp {
  return createCodeTestApp(
    (clock) => ({
      grants: [authorizationCode(), clientCredentials(), refreshToken(), deviceCode({ verificationUri: VERIFICATION_URI })],
      endpoints: [revocation(), introspection({ authorize: () => true })],
      telemetry: openTelemetry({ tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider }),
      clock,
      ...(typeof overrides === 'function' ? overrides(clock) : overrides),
    }),
    CLIENTS,
  );
}

const clientCredentialsRequest = (harness: CodeTestApp, secret = SERVICE_SECRET) =>
  request(harness.app).post('/connect/token').set('Authorization', basic('service', secret)).type('form').send({ grant_type: 'client_credentials', scope: 'api:read' });

/** The only span named `name`. */
function only(name: string): ReadableSpan {
  const spans = otel.spansNamed(name);
  expect(spans.map((span) => span.name)).toEqual([name]);
  return spans[0];
}

/** Spans whose parent is `parent`. */
const childrenOf = (parent: ReadableSpan) => otel.spans().filter((span) => parentOf(span) === parent.spanContext().spanId);

/** Runs the code flow: mint, redeem. Returns the code and the token response. */
async function codeFlow(harness: CodeTestApp) {
  const minted = await harness.tokenRouter.issueAuthorizationCode({ clientId: 'web', redirectUri: WEB_REDIRECT, scope: 'openid offline_access api:read', subject: 'user-1' });
  otel.reset();
  const res = await redeem(harness.app, { code: minted.code, redirect_uri: WEB_REDIRECT }, WEB);
  expect(res.status).toBe(200);
  return { code: minted.code, body: res.body as { access_token: string; refresh_token: string; id_token: string } };
}

describe('request spans at /token', () => {
  it('client_credentials: one span with endpoint, route, grant type, client, outcome and status; a signing child; status UNSET', async () => {
    const harness = createApp();
    expect((await clientCredentialsRequest(harness)).status).toBe(200);
    const span = only('oauth.token');
    expect(span.kind).toBe(SpanKind.INTERNAL);
    expect(span.attributes).toEqual({
      'oauth.endpoint': 'token',
      'http.route': '/connect/token',
      'oauth.grant_type': 'client_credentials',
      'oauth.client_id': 'service',
      'oauth.client_authenticated': true,
      'oauth.outcome': 'success',
      'http.response.status_code': 200,
    });
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    const signing = only('oauth.sign');
    expect(parentOf(signing)).toBe(span.spanContext().spanId);
    expect(signing.spanContext().traceId).toBe(span.spanContext().traceId);
    expect(signing.attributes).toEqual({ 'oauth.signing.alg': 'RS256', 'oauth.signing.kid': 'test-key', 'oauth.signing.typ': 'at+jwt' });
  });

  it('invalid_client: outcome error with the error code and the claimed client (not authenticated); status stays UNSET (a 4xx is the client\'s error)', async () => {
    const harness = createApp();
    expect((await clientCredentialsRequest(harness, 'wrong-secret-0123456789abcdef')).status).toBe(401);
    const span = only('oauth.token');
    expect(span.attributes).toMatchObject({ 'oauth.outcome': 'error', 'oauth.error': 'invalid_client', 'oauth.client_id': 'service', 'oauth.client_authenticated': false, 'http.response.status_code': 401, 'oauth.grant_type': 'client_credentials' });
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(otel.spansNamed('oauth.sign')).toEqual([]);
  });

  it('an unsupported grant_type is not reported as a grant type (caller input); the error is', async () => {
    const harness = createApp();
    await request(harness.app).post('/connect/token').set('Authorization', basic('service', SERVICE_SECRET)).type('form').send({ grant_type: 'urn:x:made-up' });
    const span = only('oauth.token');
    expect(span.attributes['oauth.grant_type']).toBeUndefined();
    expect(span.attributes['oauth.error']).toBe('unsupported_grant_type');
  });

  it('authorization_code: storage and signing spans are children of the request span; a replay is invalid_grant', async () => {
    const harness = createApp();
    const { code } = await codeFlow(harness);
    const span = only('oauth.token');
    expect(span.attributes).toMatchObject({ 'oauth.grant_type': 'authorization_code', 'oauth.client_id': 'web', 'oauth.outcome': 'success' });
    const children = childrenOf(span);
    const storageCalls = children.filter((child) => child.name.startsWith('oauth.storage '));
    expect(storageCalls.map((child) => child.name)).toContain('oauth.storage consumeAuthorizationCode');
    for (const call of storageCalls) expect(call.attributes['oauth.storage.operation']).toBe(call.name.slice('oauth.storage '.length));
    expect(children.filter((child) => child.name === 'oauth.sign').map((child) => child.attributes['oauth.signing.typ']).sort()).toEqual(['JWT', 'at+jwt']);
    // Every child ends before its request span — within 2 ms: each SDK span anchors performance.now()
    // to Date.now() (millisecond resolution) when it starts, so two spans' clocks may disagree by up
    // to a millisecond (a CI run saw a child "end" 15 µs after its parent).
    for (const child of children) expect(child.endTime[0] * 1e9 + child.endTime[1]).toBeLessThanOrEqual(span.endTime[0] * 1e9 + span.endTime[1] + 2e6);

    otel.reset();
    const replay = await redeem(harness.app, { code, redirect_uri: WEB_REDIRECT }, WEB);
    expect(replay.body.error).toBe('invalid_grant');
    expect(only('oauth.token').attributes).toMatchObject({ 'oauth.outcome': 'error', 'oauth.error': 'invalid_grant', 'http.response.status_code': 400 });
  });

  it('server_error: a failing storage call marks its span and the request span ERROR', async () => {
    const harness = createApp((clock) => ({ storage: failingStorage(clock) }));
    const minted = await harness.tokenRouter.issueAuthorizationCode({ clientId: 'web', redirectUri: WEB_REDIRECT, scope: 'openid offline_access api:read', subject: 'user-1' });
    otel.reset();
    const res = await redeem(harness.app, { code: minted.code, redirect_uri: WEB_REDIRECT }, WEB);
    expect(res.status).toBe(500);
    const span = only('oauth.token');
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes).toMatchObject({ 'oauth.outcome': 'error', 'oauth.error': 'server_error', 'http.response.status_code': 500 });
    const failed = only('oauth.storage consumeAuthorizationCode');
    expect(failed.status.code).toBe(SpanStatusCode.ERROR);
    expect(parentOf(failed)).toBe(span.spanContext().spanId);
    // The storage error's message (which may hold data) is not copied into telemetry.
    expect(JSON.stringify(otel.spans().map((s) => [s.attributes, s.status, s.events]))).not.toContain('database is down');
  });
});

describe('request spans at the contributed endpoints', () => {
  it('device authorization, then the device grant at /token', async () => {
    const harness = createApp();
    const started = await startApproved(harness);
    const span = only('oauth.deviceauthorization');
    expect(span.attributes).toMatchObject({ 'oauth.endpoint': 'deviceauthorization', 'http.route': '/connect/deviceauthorization', 'oauth.grant_type': DEVICE_GRANT, 'oauth.client_id': 'tv', 'oauth.outcome': 'success', 'http.response.status_code': 200 });
    expect(childrenOf(span).map((child) => child.name)).toContain('oauth.storage saveDeviceCode');
    otel.reset();
    expect((await pollDevice(harness.app, started.device_code)).status).toBe(200);
    expect(only('oauth.token').attributes).toMatchObject({ 'oauth.grant_type': DEVICE_GRANT, 'oauth.client_id': 'tv', 'oauth.outcome': 'success' });
  });

  it('revocation and introspection', async () => {
    const harness = createApp();
    const { body } = await codeFlow(harness);
    otel.reset();
    const introspected = await request(harness.app).post('/connect/introspection').set('Authorization', basic('web', SERVICE_SECRET)).type('form').send({ token: body.access_token });
    expect(introspected.body.active).toBe(true);
    const introspection = only('oauth.introspection');
    expect(introspection.attributes).toMatchObject({ 'oauth.endpoint': 'introspection', 'http.route': '/connect/introspection', 'oauth.client_id': 'web', 'oauth.outcome': 'success' });
    expect(introspection.attributes['oauth.grant_type']).toBeUndefined();
    const revoked = await request(harness.app).post('/connect/revocation').set('Authorization', basic('web', SERVICE_SECRET)).type('form').send({ token: body.refresh_token });
    expect(revoked.status).toBe(200);
    const revocation = only('oauth.revocation');
    expect(revocation.attributes).toMatchObject({ 'oauth.endpoint': 'revocation', 'oauth.client_id': 'web', 'oauth.outcome': 'success' });
    expect(childrenOf(revocation).some((child) => child.name.startsWith('oauth.storage '))).toBe(true);
  });
});

describe('metrics', () => {
  it('counts requests by endpoint, grant and outcome, measures request and storage latency, and counts replays, reuse and limiter hits', async () => {
    // The limiter counts only the service client's requests with its right secret: the third is refused.
    const serviceAuthorization = basic('service', SERVICE_SECRET);
    const harness = createApp({ rateLimit: { limit: 2, windowMs: 60_000, skip: (req) => req.headers.authorization !== serviceAuthorization } });
    // client_credentials: two successes, one invalid_client, one refused by the limiter.
    expect((await clientCredentialsRequest(harness)).status).toBe(200);
    expect((await clientCredentialsRequest(harness)).status).toBe(200);
    expect((await clientCredentialsRequest(harness, 'wrong-secret-0123456789abcdef')).status).toBe(401);
    expect((await clientCredentialsRequest(harness)).status).toBe(429);
    // authorization_code: a success, then a verified replay (and the refresh family it revoked).
    const { code, body } = await codeFlow(harness);
    expect((await redeem(harness.app, { code, redirect_uri: WEB_REDIRECT }, WEB)).status).toBe(400);
    // refresh_token: a second grant rotated, then its old token presented again well after the retry window.
    const second = await codeFlow(harness);
    const refresh = (token: string) => request(harness.app).post('/connect/token').set('Authorization', basic('web', SERVICE_SECRET)).type('form').send({ grant_type: 'refresh_token', refresh_token: token });
    expect((await refresh(second.body.refresh_token)).status).toBe(200);
    harness.clock.advance(10 * 60_000);
    expect((await refresh(second.body.refresh_token)).body.error).toBe('invalid_grant');
    expect(body.refresh_token).toBeDefined();

    const metrics = await otel.metrics();
    const requests = metrics.get('oauth.requests');
    expect(counterValue(requests, { 'oauth.endpoint': 'token', 'oauth.grant_type': 'client_credentials', 'oauth.outcome': 'success' })).toBe(2);
    expect(counterValue(requests, { 'oauth.grant_type': 'client_credentials', 'oauth.outcome': 'error', 'oauth.error': 'invalid_client' })).toBe(1);
    expect(counterValue(requests, { 'oauth.grant_type': 'client_credentials', 'oauth.error': 'temporarily_unavailable' })).toBe(1);
    expect(counterValue(requests, { 'oauth.grant_type': 'authorization_code', 'oauth.outcome': 'success' })).toBe(2);
    expect(counterValue(requests, { 'oauth.grant_type': 'authorization_code', 'oauth.error': 'invalid_grant' })).toBe(1);
    expect(counterValue(requests, { 'oauth.grant_type': 'refresh_token', 'oauth.outcome': 'success' })).toBe(1);
    expect(counterValue(requests, { 'oauth.grant_type': 'refresh_token', 'oauth.error': 'invalid_grant' })).toBe(1);
    expect(counterValue(requests, {})).toBe(9);
    // No client id in metric attributes (unbounded cardinality).
    for (const point of requests?.dataPoints ?? []) expect(point.attributes['oauth.client_id']).toBeUndefined();
    expect(requests?.descriptor.unit).toBe('{request}');

    const duration = metrics.get('oauth.request.duration');
    expect(duration?.descriptor.unit).toBe('s');
    expect(histogramCount(duration, {})).toBe(9);
    expect(histogramCount(duration, { 'oauth.grant_type': 'client_credentials', 'oauth.outcome': 'success' })).toBe(2);

    const storage = metrics.get('oauth.storage.duration');
    expect(storage?.descriptor.unit).toBe('s');
    expect(histogramCount(storage, { 'oauth.storage.operation': 'consumeAuthorizationCode' })).toBeGreaterThanOrEqual(2);
    expect(histogramCount(storage, { 'oauth.storage.operation': 'rotateRefreshToken' })).toBeGreaterThanOrEqual(1);

    expect(counterValue(metrics.get('oauth.rate_limited'), { 'oauth.limiter': 'rateLimit' })).toBe(1);
    const replays = metrics.get('oauth.replay_detected');
    expect(counterValue(replays, { 'oauth.replay.kind': 'authorization_code' })).toBe(1);
    expect(counterValue(replays, { 'oauth.replay.kind': 'refresh_token' })).toBe(1);
    expect(counterValue(replays, {})).toBe(2);
  });
});

describe('counters derived from events', () => {
  it('counts device-code replays, client-assertion replays and every limiter by name; other events count nothing', async () => {
    const hooks = openTelemetry({ tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider });
    const at = 0;
    hooks.event({ type: 'device_code.replayed', at, grantId: 'g', clientId: 'tv', detection: 'lost_race' });
    hooks.event({ type: 'client.authentication_failed', at, clientId: 'svc', reason: 'client_assertion_replayed' });
    hooks.event({ type: 'client.authentication_failed', at, clientId: 'svc', reason: 'invalid_secret' });
    hooks.event({ type: 'rate_limited', at, limiter: 'bruteForce.clientAuthFailures.perIp' });
    hooks.event({ type: 'rate_limited', at, limiter: 'deviceCode.userCodeAttempts' });
    hooks.event({ type: 'grant.revoked', at, grantId: 'g', clientId: 'tv', reason: 'device_code_replay' });
    const metrics = await otel.metrics();
    const replays = metrics.get('oauth.replay_detected');
    expect(counterValue(replays, { 'oauth.replay.kind': 'device_code' })).toBe(1);
    expect(counterValue(replays, { 'oauth.replay.kind': 'client_assertion' })).toBe(1);
    expect(counterValue(replays, {})).toBe(2);
    const limited = metrics.get('oauth.rate_limited');
    expect(counterValue(limited, { 'oauth.limiter': 'bruteForce.clientAuthFailures.perIp' })).toBe(1);
    expect(counterValue(limited, { 'oauth.limiter': 'deviceCode.userCodeAttempts' })).toBe(1);
    expect(counterValue(limited, {})).toBe(2);
  });
});

describe('a request whose client goes away', () => {
  it('is reported aborted, with status ERROR, when the connection closes before the answer', async () => {
    let release: () => void = () => undefined;
    let reached = false;
    const harness = createApp((clock) => {
      const memory = createMemoryStorage({ clock });
      const slow = Object.assign(Object.create(memory) as StorageAdapter, {
        consumeAuthorizationCode: async (...args: Parameters<StorageAdapter['consumeAuthorizationCode']>) => {
          await new Promise<void>((resolve) => {
            release = resolve;
            reached = true;
          });
          return memory.consumeAuthorizationCode(...args);
        },
      });
      return { storage: slow };
    });
    const minted = await harness.tokenRouter.issueAuthorizationCode({ clientId: 'web', redirectUri: WEB_REDIRECT, scope: 'openid', subject: 'user-1' });
    const server = harness.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    const body = new URLSearchParams({ grant_type: 'authorization_code', code: minted.code, redirect_uri: WEB_REDIRECT }).toString();
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/connect/token', headers: { authorization: basic('web', SERVICE_SECRET), 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } });
    req.on('error', () => undefined);
    req.end(body);
    // Wait until the request is inside the storage call, then hang up; the span ends with the connection.
    for (let i = 0; i < 500 && !reached; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(reached).toBe(true);
    req.destroy();
    for (let i = 0; i < 100 && otel.spansNamed('oauth.token').length === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    release();
    server.close();
    const span = only('oauth.token');
    expect(span.attributes['oauth.outcome']).toBe('aborted');
    expect(span.attributes['oauth.error']).toBeUndefined();
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
  });
});

describe('nothing secret is recorded', () => {
  it('no span or metric attribute holds a client secret, code, token, device code or user code', async () => {
    const harness = createApp();
    await clientCredentialsRequest(harness);
    await clientCredentialsRequest(harness, 'wrong-secret-0123456789abcdef');
    const minted = await harness.tokenRouter.issueAuthorizationCode({ clientId: 'web', redirectUri: WEB_REDIRECT, scope: 'openid offline_access api:read', subject: 'user-1' });
    const issued = (await redeem(harness.app, { code: minted.code, redirect_uri: WEB_REDIRECT }, WEB)).body as { access_token: string; refresh_token: string; id_token: string };
    await redeem(harness.app, { code: minted.code, redirect_uri: WEB_REDIRECT }, WEB);
    const refreshed = (await request(harness.app).post('/connect/token').set('Authorization', basic('web', SERVICE_SECRET)).type('form').send({ grant_type: 'refresh_token', refresh_token: issued.refresh_token })).body as { access_token: string; refresh_token: string };
    await request(harness.app).post('/connect/introspection').set('Authorization', basic('web', SERVICE_SECRET)).type('form').send({ token: refreshed.access_token });
    await request(harness.app).post('/connect/revocation').set('Authorization', basic('web', SERVICE_SECRET)).type('form').send({ token: refreshed.refresh_token });
    const device = await startApproved(harness);
    await pollDevice(harness.app, device.device_code);

    const values = everyRecordedValue(otel.spans(), await otel.metrics());
    expect(values.length).toBeGreaterThan(100);
    const secrets = [SERVICE_SECRET, 'wrong-secret-0123456789abcdef', minted.code, issued.access_token, issued.refresh_token, issued.id_token, refreshed.access_token, refreshed.refresh_token, device.device_code, device.user_code];
    for (const secret of secrets) {
      for (const value of values) expect(value.includes(secret)).toBe(false);
    }
    // The JWTs' signatures (the last segment) are not there either.
    for (const jwt of [issued.access_token, issued.id_token]) expect(values.some((value) => value.includes(jwt.split('.')[2]))).toBe(false);
  });
});

/** A memory storage whose consumeAuthorizationCode fails (the database is down). */
function failingStorage(clock: TestClock): Partial<StorageAdapter> {
  const memory = createMemoryStorage({ clock });
  return Object.assign(Object.create(memory) as StorageAdapter, { consumeAuthorizationCode: () => Promise.reject(new Error('database is down')) });
}
