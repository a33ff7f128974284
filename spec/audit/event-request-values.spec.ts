// spec/audit/event-request-values.spec.ts
// Events that repeat request values as sent — `request.rejected` (grantType, clientId),
// `client.authentication_failed` and `rate_limited` (the claimed clientId) — carry them bounded
// and with control characters escaped (security model rule L98: no log injection, no 64 KiB log lines).
// Over 256 characters: the first 64 plus "…". Control characters: a `\uXXXX` escape.
import request from 'supertest';
import type { TokenEndpointEvent, TokenEndpointEventOf, TokenEndpointEventType } from '../../lib';
import { basic, createTestApp, SERVICE_SECRET } from '../helpers/create-app';

const formEncode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');

function eventsOf<T extends TokenEndpointEventType>(events: readonly TokenEndpointEvent[], type: T): Array<TokenEndpointEventOf<T>> {
  return events.filter((event): event is TokenEndpointEventOf<T> => event.type === type);
}

/** POSTs a form built from `params` (each value form-encoded). */
function post(app: Parameters<typeof request>[0], params: Readonly<Record<string, string>>, authorization?: string): request.Test {
  const req = request(app).post('/connect/token').type('form');
  if (authorization) req.set('Authorization', authorization);
  return req.send(Object.entries(params).map(([name, value]) => `${name}=${formEncode(value)}`).join('&'));
}

// A grant_type that tries to forge a second log line, and client ids with a terminal escape,
// a line separator and a right-to-left override.
const FORGED_LINE = 'password\r\n2026-01-01T00:00:00Z INFO token.issued clientId=admin';
const ESCAPED_LINE = 'password\\u000d\\u000a2026-01-01T00:00:00Z INFO token.issued clientId=admin';
const TERMINAL = 'evil\u001b[31mred\u0007\u007f\u0085';
const ESCAPED_TERMINAL = 'evil\\u001b[31mred\\u0007\\u007f\\u0085';
const SPOOFED = 'client\u2028next\u202egnp.exe';
const ESCAPED_SPOOFED = 'client\\u2028next\\u202egnp.exe';
/** What must never reach an event raw. */
const UNSAFE = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

describe('request values in events: bounded, control characters escaped (rule L98)', () => {
  it('request.rejected: a grant_type and a client_id over 256 characters become their first 64 characters and "…"', async () => {
    const { app, events } = createTestApp();
    const grantType = `urn:example:${'g'.repeat(300)}`;
    const clientId = `client-${'c'.repeat(60_000)}`;
    const res = await post(app, { grant_type: grantType, client_id: clientId, client_secret: 'x' });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('unsupported_grant_type');
    expect(eventsOf(events, 'request.rejected')).toEqual([
      { type: 'request.rejected', at: expect.any(Number), error: 'unsupported_grant_type', grantType: `${grantType.slice(0, 64)}…`, clientId: `${clientId.slice(0, 64)}…`, ip: expect.any(String) },
    ]);
    // Without grant_type: invalid_request, still reported with the truncated client_id.
    events.length = 0;
    expect((await post(app, { client_id: clientId })).body.error).toBe('invalid_request');
    expect(eventsOf(events, 'request.rejected')[0]).toMatchObject({ error: 'invalid_request', clientId: `${clientId.slice(0, 64)}…` });
    expect(eventsOf(events, 'request.rejected')[0].grantType).toBeUndefined();
  });

  it('request.rejected names the client of an HTTP Basic request too (issue 17: it was missing)', async () => {
    const { app, events } = createTestApp();
    // Authenticated, then refused: an unsupported grant type and a scope the client does not have.
    expect((await post(app, { grant_type: 'client_credentials', scope: 'admin' }, basic('service', SERVICE_SECRET))).body.error).toBe('invalid_scope');
    // Refused before authentication (no grant_type): the Basic user-id as claimed.
    expect((await post(app, {}, basic('service', 'wrong-secret'))).body.error).toBe('invalid_request');
    expect(eventsOf(events, 'request.rejected').map((event) => event.clientId)).toEqual(['service', 'service']);
  });

  it('256 characters pass unchanged, 257 are truncated; a cut never splits a surrogate pair', async () => {
    const { app, events } = createTestApp();
    const exactly = 'a'.repeat(256);
    const over = 'b'.repeat(257);
    const astral = `${'d'.repeat(63)}😀${'e'.repeat(300)}`;
    for (const clientId of [exactly, over, astral]) expect((await post(app, { client_id: clientId })).status).toBe(400);
    expect(eventsOf(events, 'request.rejected').map((event) => event.clientId)).toEqual([exactly, `${'b'.repeat(64)}…`, `${'d'.repeat(63)}…`]);
  });

  it('request.rejected: control characters, line separators and bidi overrides are escaped; printable values are unchanged', async () => {
    const { app, events } = createTestApp();
    const printable = 'we:ird id "quoted" \\back ünï 😀';
    // An unsupported grant_type from an authenticated client, then client ids without a grant_type.
    expect((await post(app, { grant_type: FORGED_LINE, client_id: 'post-client', client_secret: SERVICE_SECRET })).body.error).toBe('unsupported_grant_type');
    for (const clientId of [TERMINAL, SPOOFED, printable]) expect((await post(app, { client_id: clientId })).body.error).toBe('invalid_request');
    expect(eventsOf(events, 'request.rejected').map(({ grantType, clientId }) => ({ grantType, clientId }))).toEqual([
      { grantType: ESCAPED_LINE, clientId: 'post-client' },
      { grantType: undefined, clientId: ESCAPED_TERMINAL },
      { grantType: undefined, clientId: ESCAPED_SPOOFED },
      { grantType: undefined, clientId: printable },
    ]);
    for (const event of events) for (const value of Object.values(event)) if (typeof value === 'string') expect(value).not.toMatch(UNSAFE);
  });

  it('client.authentication_failed: the claimed client id (body or Basic) is bounded and escaped too', async () => {
    const { app, events } = createTestApp();
    const long = `guess-${'x'.repeat(5000)}`;
    expect((await post(app, { grant_type: 'client_credentials', client_id: long, client_secret: 'wrong-secret-0123456789' })).status).toBe(401);
    expect((await post(app, { grant_type: 'client_credentials', client_id: TERMINAL, client_secret: 'wrong-secret-0123456789' })).status).toBe(401);
    expect((await post(app, { grant_type: 'client_credentials' }, basic(FORGED_LINE, 'wrong-secret-0123456789'))).status).toBe(401);
    expect(eventsOf(events, 'client.authentication_failed').map(({ clientId, reason }) => ({ clientId, reason }))).toEqual([
      { clientId: `${long.slice(0, 64)}…`, reason: 'unknown_client' },
      { clientId: ESCAPED_TERMINAL, reason: 'unknown_client' },
      { clientId: ESCAPED_LINE, reason: 'unknown_client' },
    ]);
  });

  it('ip: with trust proxy, an X-Forwarded-For address of any length is bounded in every event that carries it', async () => {
    const { app, events } = createTestApp();
    app.set('trust proxy', true);
    const forged = `203.0.113.7${'x'.repeat(1000)}`;
    const send = (params: Record<string, string>) => post(app, params).set('X-Forwarded-For', forged);
    expect((await send({ grant_type: 'client_credentials', client_id: 'service', client_secret: 'wrong-secret-0123456789' })).status).toBe(401);
    expect((await send({ grant_type: 'unknown-grant', client_id: 'service', client_secret: SERVICE_SECRET })).status).toBe(400);
    const carried = events.filter((event) => 'ip' in event).map((event) => (event as { ip?: string }).ip);
    expect(carried).toEqual([`${forged.slice(0, 64)}…`, `${forged.slice(0, 64)}…`]);
  });

  it('rate_limited: the claimed client id is bounded and escaped, for the request limit and the failure budget', async () => {
    const limited = createTestApp({ rateLimit: { limit: 1, windowMs: 60_000 } });
    const long = `flood-${'y'.repeat(3000)}`;
    await post(limited.app, { grant_type: 'client_credentials', client_id: long, client_secret: 's' });
    expect((await post(limited.app, { grant_type: 'client_credentials', client_id: long, client_secret: 's' })).status).toBe(429);
    await post(limited.app, { grant_type: 'client_credentials', client_id: SPOOFED, client_secret: 's' });
    expect((await post(limited.app, { grant_type: 'client_credentials', client_id: SPOOFED, client_secret: 's' })).status).toBe(429);
    expect(eventsOf(limited.events, 'rate_limited').map(({ clientId, limiter }) => ({ clientId, limiter }))).toEqual([
      { clientId: `${long.slice(0, 64)}…`, limiter: 'rateLimit' },
      { clientId: ESCAPED_SPOOFED, limiter: 'rateLimit' },
    ]);

    const budget = createTestApp({ bruteForce: { clientAuthFailures: { perIp: 1, windowMs: 60_000 } } });
    for (let i = 0; i < 2; i += 1) await post(budget.app, { grant_type: 'client_credentials', client_id: FORGED_LINE, client_secret: 'wrong-secret-0123456789' });
    expect(eventsOf(budget.events, 'rate_limited').map(({ clientId, limiter }) => ({ clientId, limiter }))).toEqual([
      { clientId: ESCAPED_LINE, limiter: 'bruteForce.clientAuthFailures.perIp' },
    ]);
  });
});
