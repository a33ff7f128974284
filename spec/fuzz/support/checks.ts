// spec/fuzz/support/checks.ts
// Sends one fuzzed request and checks the answer and the store against the oracle's verdict.
import type http from 'node:http';
import fc from 'fast-check';
import request from 'supertest';
import { TOKEN_EXCHANGE_GRANT_TYPE, TOKEN_TYPES } from '../../../lib';
import { ISSUER } from '../../helpers/create-app';
import { CONF_SECRET, DEVICE_GRANT, GATEWAY, GW_SECRET, OTHER_SECRET, READ_ONLY_STORAGE_METHODS, RS_SECRET, TV_SECRET, snapshotArtefacts, snapshotRevocations, type FuzzHarness } from './harness';
import { preview, type CaseReport } from './fuzz-run';
import { describeVerdict, judge, sendsAuthorization, type Verdict } from './oracle';
import { renderWire, toWire, type RequestSpec, type Wire } from './requests';
import { decodePayload, type PresentedToken } from './tokens';

/** RFC 6749 §5.2 token endpoint errors. */
const TOKEN_ERRORS = ['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope', 'invalid_target'];
/** RFC 7009 §2.2.1: the revocation endpoint adds one. */
const REVOCATION_ERRORS = ['unsupported_token_type'];
/** RFC 7662 §2.2 members (and the extensions the README lists: auth_time, acr, amr). */
const INTROSPECTION_MEMBERS = new Set(['active', 'scope', 'client_id', 'username', 'token_type', 'exp', 'iat', 'nbf', 'sub', 'aud', 'iss', 'jti', 'auth_time', 'acr', 'amr', 'act']);
/**
 * The vocabulary error descriptions may use: parameter names, grant types, token type URNs. A
 * caller's value or parameter name found in a description is an echo unless it is part of this.
 */
const VOCABULARY = [
  'grant_type', 'client_id', 'client_secret', 'scope', 'code', 'redirect_uri', 'code_verifier', 'refresh_token', 'tnuId', 'device_code', 'code_challenge_method',
  'token', 'token_type_hint', 'subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'requested_token_type', 'audience',
  'authorization_code', 'client_credentials', DEVICE_GRANT, TOKEN_EXCHANGE_GRANT_TYPE, ...Object.values(TOKEN_TYPES), 'offline_access', 'openid',
  'application/x-www-form-urlencoded',
  'client_assertion', 'client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
];
/** RFC 8628 §3.5 device polling errors: only on a device_code token request. */
const DEVICE_POLL_ERRORS = ['authorization_pending', 'slow_down', 'access_denied', 'expired_token'];
/** RFC 6749 §5.2 charset of error_description. */
const DESCRIPTION = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;
const ENVELOPE_MEMBERS = new Set(['error', 'error_description', 'error_uri']);

export interface Received {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly text: string;
}

/** Sends the wire request as is (no content type added, the body as raw bytes) and reads the raw answer. */
export async function send(server: http.Server, wire: Wire): Promise<Received> {
  const agent = request(server);
  const methods: Record<string, (path: string) => request.Test> = {
    POST: (p) => agent.post(p),
    GET: (p) => agent.get(p),
    PUT: (p) => agent.put(p),
    DELETE: (p) => agent.delete(p),
    PATCH: (p) => agent.patch(p),
    OPTIONS: (p) => agent.options(p),
  };
  const start = methods[wire.method];
  if (!start) throw new Error(`unsupported method ${wire.method}`);
  const req = start(wire.path);
  for (const [name, value] of Object.entries(wire.headers)) req.set(name, value);
  // Keep the body as text whatever the content type, so an HTML page or broken JSON shows up as is.
  req.buffer(true).parse((res, done) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => done(null, Buffer.concat(chunks).toString('utf8')));
  });
  // The bytes as they are: superagent would otherwise re-serialise a Buffer for form and JSON types.
  req.serialize((data: unknown) => data as string);
  if (wire.body.length > 0) req.send(wire.body);
  const res = await req;
  return { status: res.status, headers: res.headers as Record<string, string | undefined>, text: res.body as string };
}

function renderReceived(received: Received): string {
  const headers = ['content-type', 'cache-control', 'pragma', 'www-authenticate', 'allow', 'retry-after']
    .filter((name) => received.headers[name] !== undefined)
    .map((name) => `${name}: ${received.headers[name]}`);
  return [`status ${received.status}`, ...headers, `body: ${preview(received.text)}`].join('\n');
}

/** Values that must never appear in any answer (rule L98). */
export function secretsOf(h: FuzzHarness): string[] {
  const presented = h.tokens.tokens.filter((token) => token.value.length >= 16).map((token) => token.value);
  return [CONF_SECRET, OTHER_SECRET, TV_SECRET, GW_SECRET, RS_SECRET, ...h.artefacts.map((a) => a.value), ...presented];
}

export interface ExchangeOptions {
  /** The app limits requests (429 answers allowed after parsing). */
  readonly rateLimited: boolean;
}

/** Tally of what a property run saw. */
export interface Tally {
  statuses: Map<number, number>;
  verdicts: Map<string, number>;
  errors: Map<string, number>;
}

export function newTally(): Tally {
  return { statuses: new Map(), verdicts: new Map(), errors: new Map() };
}

function bump<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/**
 * The whole property for one request: judge it, skip it if it would validly redeem a pre-minted
 * artefact, send it, then check the envelope, the verdict and the store.
 */
export async function exchange(h: FuzzHarness, spec: RequestSpec, report: { current?: CaseReport }, options: ExchangeOptions, tally: Tally): Promise<void> {
  const wire = toWire(spec);
  const current: CaseReport = { request: renderWire(wire, spec) };
  report.current = current;
  const verdict = judge(spec, wire, { artefacts: h.artefacts, maxBodyBytes: h.maxBodyBytes, tokens: h.tokens, now: h.clock() });
  current.verdict = describeVerdict(verdict);
  bump(tally.verdicts, verdict.kind);
  if (verdict.kind === 'reject' && verdict.effects.length > 0) bump(tally.verdicts, 'reject reaching an owned artefact');
  if (verdict.kind === 'introspection' && verdict.token) bump(tally.verdicts, `introspection active ${verdict.token.kind}`);
  if (verdict.kind === 'revocation' && verdict.effect) bump(tally.verdicts, `revocation writing ${verdict.effect.method}`);
  if (verdict.kind === 'exchange' && verdict.expected.act) bump(tally.verdicts, 'exchange with act');
  fc.pre(verdict.kind !== 'redeem');

  const callsBefore = h.calls.length;
  const sizeBefore = JSON.stringify(h.raw.size());
  const recordsBefore = await snapshotArtefacts(h.raw, h.artefacts);
  const revocationsBefore = await snapshotRevocations(h.raw, h.tokens);
  let received: Received;
  try {
    received = await send(h.server, wire);
  } catch (error) {
    throw new Error(`no HTTP answer: ${error instanceof Error ? error.message : String(error)}`);
  }
  current.response = renderReceived(received);
  bump(tally.statuses, received.status);
  const writes = h.calls.slice(callsBefore).filter((call) => !READ_ONLY_STORAGE_METHODS.has(call.method));

  const emptyAllowed = spec.endpoint === 'revocation' && received.status === 200;
  const body = checkEnvelope(received, secretsOf(h), emptyAllowed);
  if (typeof body.error === 'string') bump(tally.errors, body.error);
  if (received.status === 429) {
    if (!options.rateLimited) throw new Error('429 from an app without rate limiting');
    checkError(received, body, spec, wire);
    if (body.error !== 'temporarily_unavailable') throw new Error(`429 with error ${String(body.error)}`);
    if (!/^[1-9]\d*$/.test(received.headers['retry-after'] ?? '')) throw new Error(`429 without a valid Retry-After: ${String(received.headers['retry-after'])}`);
    if (verdict.kind === 'reject' && verdict.parseStatus !== undefined) throw new Error('429 for a request that must fail while parsing (the limiter runs after the parser)');
    if (writes.length > 0) throw new Error(`a 429 wrote to the store: ${describeCalls(writes)}`);
  } else if (verdict.kind === 'token') {
    checkToken(received, body, verdict);
    if (writes.length > 0) throw new Error(`client_credentials wrote to the store: ${describeCalls(writes)}`);
  } else if (verdict.kind === 'device-authorization') {
    checkDeviceAuthorization(received, body);
    if (writes.length === 0 || writes.some((call) => call.method !== 'saveDeviceCode')) {
      throw new Error(`a device authorization must only save its device code; writes: ${describeCalls(writes)}`);
    }
  } else if (verdict.kind === 'exchange') {
    checkExchange(received, body, verdict.expected);
    if (writes.length > 0) throw new Error(`a token exchange wrote to the store: ${describeCalls(writes)}`);
  } else if (verdict.kind === 'introspection') {
    checkIntrospection(received, body, verdict.token);
    if (writes.length > 0) throw new Error(`an introspection wrote to the store: ${describeCalls(writes)}`);
  } else if (verdict.kind === 'revocation') {
    if (received.status !== 200) throw new Error(`a revocation the RFC answers 200 got ${received.status} ${String(body.error)}`);
    if (received.text !== '') throw new Error('a revocation answered 200 with a body (RFC 7009 §2.2: the content is ignored; ours is empty)');
    const effect = verdict.effect;
    const expected = effect ? `${effect.method}(${effect.key})` : '';
    const actual = writes.map((call) => `${call.method}(${String(call.args[0])})`).join(', ');
    if (actual !== expected) throw new Error(`a revocation must write ${expected || 'nothing'}; wrote ${describeCalls(writes)}`);
    if (effect?.method === 'revokeAccessToken' && (await h.raw.isAccessTokenRevoked(effect.key)) !== true) throw new Error('the revoked jti is not on the revocation list');
    if (effect?.method === 'revokeGrant' && (await h.raw.isGrantRevoked(effect.key)) !== true) throw new Error('the revoked grant is not marked');
  } else if (verdict.kind === 'reject') {
    checkError(received, body, spec, wire);
    checkRejection(received, body, verdict);
    // The store: only the documented side effects, and nothing else changed.
    const unexpected = writes.filter((call) => !verdict.effects.some((effect) => effect.method === call.method && effect.key === call.args[0]));
    if (unexpected.length > 0) throw new Error(`a rejected request wrote to the store: ${describeCalls(unexpected)}`);
    if (writes.length === 0 && JSON.stringify(h.raw.size()) !== sizeBefore) throw new Error(`the store changed size without a recorded write: ${sizeBefore} -> ${JSON.stringify(h.raw.size())}`);
    const touched = new Set(writes.map((call) => String(call.args[0])));
    const recordsAfter = await snapshotArtefacts(h.raw, h.artefacts);
    for (const artefact of h.artefacts) {
      if (touched.has(artefact.hash) || touched.has(artefact.grantId)) continue;
      if (recordsAfter.get(artefact.name) !== recordsBefore.get(artefact.name)) throw new Error(`a rejected request changed the stored ${artefact.name}`);
    }
  }
  // Nothing revoked but what the checks above allowed (the recorder sees every write; this reads the store).
  if (writes.length === 0 && (await snapshotRevocations(h.raw, h.tokens)) !== revocationsBefore) throw new Error('the revocation state changed without a recorded write');
  // The model follows the (checked) revocations, so later verdicts see them.
  for (const call of writes) {
    if (call.method === 'revokeGrant') h.tokens.revokedGrants.add(String(call.args[0]));
    if (call.method === 'revokeAccessToken') h.tokens.revokedJtis.add(String(call.args[0]));
  }
}

function describeCalls(calls: ReadonlyArray<{ method: string; args: unknown[] }>): string {
  return calls.map((call) => `${call.method}(${preview(String(call.args[0]), 20)})`).join(', ') || '(none)';
}

/** Every answer: not 5xx, JSON (or, when `emptyAllowed`, empty), never cached, no secret echoed. Returns the parsed body. */
function checkEnvelope(received: Received, secrets: readonly string[], emptyAllowed = false): Record<string, unknown> {
  if (received.status >= 500) throw new Error(`answered ${received.status}`);
  if (received.headers['cache-control'] !== 'no-store') throw new Error(`Cache-Control ${String(received.headers['cache-control'])}`);
  if (received.headers.pragma !== 'no-cache') throw new Error(`Pragma ${String(received.headers.pragma)}`);
  if (emptyAllowed && received.text === '') return {};
  if (!/^application\/json\s*(;|$)/i.test(received.headers['content-type'] ?? '')) throw new Error(`Content-Type ${String(received.headers['content-type'])}, not JSON`);
  let body: unknown;
  try {
    body = JSON.parse(received.text);
  } catch {
    throw new Error('the body is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('the body is not a JSON object');
  const leaked = secrets.find((secret) => received.text.includes(secret));
  if (leaked !== undefined) throw new Error(`the answer echoes a secret or pre-minted artefact (${preview(leaked, 12)})`);
  return body as Record<string, unknown>;
}

/** An error answer: 4xx, only the §5.2 members, a registered code, a §5.2 description, the right headers. */
function checkError(received: Received, body: Record<string, unknown>, spec: RequestSpec, wire: Wire): void {
  if (received.status < 400) throw new Error(`status ${received.status} for a request that must be refused`);
  const extra = Object.keys(body).filter((key) => !ENVELOPE_MEMBERS.has(key));
  if (extra.length > 0) throw new Error(`error body has members beyond error/error_description/error_uri: ${extra.join(', ')}`);
  const code = body.error;
  const registered = [...TOKEN_ERRORS, ...(received.status === 429 ? ['temporarily_unavailable'] : []), ...(spec.endpoint === 'revocation' ? REVOCATION_ERRORS : [])];
  const devicePoll = spec.endpoint === 'token' && wire.fields.some((f) => f.name === 'grant_type' && f.value === DEVICE_GRANT);
  if (devicePoll) registered.push(...DEVICE_POLL_ERRORS);
  if (typeof code !== 'string' || !registered.includes(code)) throw new Error(`error ${JSON.stringify(code)} is not a registered code for this request`);
  const description = body.error_description;
  if (description !== undefined && (typeof description !== 'string' || !DESCRIPTION.test(description))) {
    throw new Error(`error_description outside the RFC 6749 §5.2 charset: ${JSON.stringify(description)}`);
  }
  if (typeof description === 'string') checkNoEcho(description, spec, wire);
  const expectedStatus = code === 'invalid_client' ? [401] : code === 'temporarily_unavailable' ? [429] : code === 'invalid_request' ? [400, 405, 413] : [400];
  if (!expectedStatus.includes(received.status)) throw new Error(`status ${received.status} for ${code}`);
  if (received.status === 405 && received.headers.allow !== 'POST') throw new Error(`405 without Allow: POST (${String(received.headers.allow)})`);
  if (received.status === 401) {
    // Decision B16: a Basic challenge exactly when the request used the Authorization header.
    const challenged = /^Basic realm="[^"]*"/.test(received.headers['www-authenticate'] ?? '');
    if (challenged !== sendsAuthorization(spec.auth)) throw new Error(`401 ${challenged ? 'with' : 'without'} a Basic challenge, but the request ${challenged ? 'had no' : 'had an'} Authorization header`);
  }
}

/** Rules L98/L99 (docs/security-model.md): an error_description never repeats what the caller sent (values, unknown names, the Basic id). */
function checkNoEcho(description: string, spec: RequestSpec, wire: Wire): void {
  const sent = wire.fields.flatMap((field) => [field.name, field.value ?? '']);
  if (spec.auth.kind === 'basic') sent.push(spec.auth.id, spec.auth.secret);
  for (const text of sent) {
    const trimmed = text.trim();
    if (trimmed.length < 8 || VOCABULARY.some((word) => word.includes(trimmed))) continue;
    if (description.includes(trimmed)) throw new Error(`error_description echoes caller text ${preview(trimmed, 40)}`);
  }
}

function checkRejection(received: Received, body: Record<string, unknown>, verdict: Extract<Verdict, { kind: 'reject' }>): void {
  if (verdict.parseStatus !== undefined && received.status !== verdict.parseStatus) throw new Error(`status ${received.status}, expected ${verdict.parseStatus}`);
  if (verdict.codes && !verdict.codes.includes(String(body.error))) throw new Error(`error ${String(body.error)}, expected one of ${verdict.codes.join(', ')}`);
}

function checkToken(received: Received, body: Record<string, unknown>, verdict: Extract<Verdict, { kind: 'token' }>): void {
  if (received.status !== 200) throw new Error(`a valid client_credentials request got ${received.status} ${String(body.error)}`);
  if (typeof body.access_token !== 'string' || body.access_token.length === 0) throw new Error('no access_token');
  if (body.token_type !== 'Bearer') throw new Error(`token_type ${String(body.token_type)}`);
  if (!Number.isInteger(body.expires_in) || (body.expires_in as number) <= 0) throw new Error(`expires_in ${String(body.expires_in)}`);
  if (body.refresh_token !== undefined || body.id_token !== undefined) throw new Error('client_credentials issued a refresh or ID token');
  if ((body.scope ?? '') !== verdict.scope) throw new Error(`scope ${JSON.stringify(body.scope)}, expected ${JSON.stringify(verdict.scope)}`);
}

/** RFC 8693 §2.2.1: an access token for the gateway, for the expected subject, scope and actor. */
function checkExchange(received: Received, body: Record<string, unknown>, expected: { scope: string; sub: string; grantBound: boolean; act: Readonly<Record<string, unknown>> | undefined }): void {
  if (received.status !== 200) throw new Error(`a valid token exchange got ${received.status} ${String(body.error)}`);
  if (typeof body.access_token !== 'string' || body.access_token.split('.').length !== 3) throw new Error('no JWT access_token');
  if (body.issued_token_type !== TOKEN_TYPES.accessToken) throw new Error(`issued_token_type ${String(body.issued_token_type)}`);
  if (body.token_type !== 'Bearer') throw new Error(`token_type ${String(body.token_type)}`);
  if (!Number.isInteger(body.expires_in) || (body.expires_in as number) <= 0) throw new Error(`expires_in ${String(body.expires_in)}`);
  if (body.refresh_token !== undefined || body.id_token !== undefined) throw new Error('a token exchange answered a refresh or ID token');
  if ((body.scope ?? '') !== expected.scope) throw new Error(`scope ${JSON.stringify(body.scope)}, expected ${JSON.stringify(expected.scope)}`);
  const claims = decodePayload(body.access_token);
  const seen = { sub: claims.sub, client_id: claims.client_id, iss: claims.iss, grantBound: typeof claims.grant_id === 'string', act: claims.act };
  const want = { sub: expected.sub, client_id: GATEWAY, iss: ISSUER, grantBound: expected.grantBound, act: expected.act };
  if (JSON.stringify(seen) !== JSON.stringify(want)) throw new Error(`exchanged token claims ${JSON.stringify(seen)}, expected ${JSON.stringify(want)}`);
}

/** RFC 7662 §2.2: `{ active: false }` and nothing else, or the token's members (never for a token that is not live). */
function checkIntrospection(received: Received, body: Record<string, unknown>, token: PresentedToken | undefined): void {
  if (received.status !== 200) throw new Error(`a valid introspection got ${received.status} ${String(body.error)}`);
  if (!token) {
    if (JSON.stringify(body) !== '{"active":false}') throw new Error(`an inactive token must be exactly {"active":false}, got ${preview(JSON.stringify(body), 200)}`);
    return;
  }
  if (body.active !== true) throw new Error(`${token.name} is live but introspection says ${preview(JSON.stringify(body), 200)}`);
  const extra = Object.keys(body).filter((key) => !INTROSPECTION_MEMBERS.has(key));
  if (extra.length > 0) throw new Error(`introspection members beyond RFC 7662 §2.2: ${extra.join(', ')}`);
  const claims = token.claims;
  const want: Record<string, unknown> = token.kind === 'access_token'
    ? { client_id: claims.client_id, sub: claims.sub, jti: claims.jti, exp: claims.exp, iat: claims.iat, iss: claims.iss, aud: claims.aud, scope: claims.scope, token_type: 'Bearer' }
    : { client_id: token.owner, sub: claims.sub, jti: undefined, iss: ISSUER, scope: claims.scope, token_type: undefined };
  for (const [member, value] of Object.entries(want)) {
    if (JSON.stringify(body[member]) !== JSON.stringify(value)) throw new Error(`introspection of ${token.name}: ${member} ${JSON.stringify(body[member])}, expected ${JSON.stringify(value)}`);
  }
  if (!Number.isInteger(body.exp) || !Number.isInteger(body.iat)) throw new Error('exp / iat are not integers');
}

function checkDeviceAuthorization(received: Received, body: Record<string, unknown>): void {
  if (received.status !== 200) throw new Error(`a valid device authorization got ${received.status} ${String(body.error)}`);
  if (typeof body.device_code !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(body.device_code)) throw new Error('no well-formed device_code');
  if (typeof body.user_code !== 'string' || typeof body.verification_uri !== 'string') throw new Error('no user_code or verification_uri');
  if (!Number.isInteger(body.expires_in) || !Number.isInteger(body.interval)) throw new Error('expires_in / interval are not integers');
  if (body.access_token !== undefined) throw new Error('a device authorization carried an access token');
}

/** Errors the router logged (an unexpected failure is logged even when the client got a 4xx). */
export function loggedErrors(h: FuzzHarness): string[] {
  return h.app.logged.filter((entry) => entry.level === 'error').map((entry) => `${entry.message} ${JSON.stringify(entry.details ?? {})}`);
}

/** Short summary of a tally for the test log. */
export function describeTally(tally: Tally): string {
  const statuses = [...tally.statuses.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ');
  const list = (map: Map<string, number>) => [...map.entries()].map(([k, n]) => `${k}×${n}`).join(' ');
  return `statuses ${statuses}; verdicts ${list(tally.verdicts)}; errors ${list(tally.errors)}`;
}
