// spec/fuzz/support/checks.ts
// Sends one fuzzed request and checks the answer and the store against the oracle's verdict.
import type http from 'node:http';
import fc from 'fast-check';
import request from 'supertest';
import { CONF_SECRET, DEVICE_GRANT, OTHER_SECRET, READ_ONLY_STORAGE_METHODS, TV_SECRET, snapshotArtefacts, type FuzzHarness } from './harness';
import { preview, type CaseReport } from './fuzz-run';
import { describeVerdict, judge, sendsAuthorization, type Verdict } from './oracle';
import { renderWire, toWire, type RequestSpec, type Wire } from './requests';

/** RFC 6749 §5.2 token endpoint errors. */
const TOKEN_ERRORS = ['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope'];
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

/** Values that must never appear in any answer (checklist L98). */
export function secretsOf(h: FuzzHarness): string[] {
  return [CONF_SECRET, OTHER_SECRET, TV_SECRET, ...h.artefacts.map((a) => a.value)];
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
  const verdict = judge(spec, wire, { artefacts: h.artefacts, maxBodyBytes: h.maxBodyBytes });
  current.verdict = describeVerdict(verdict);
  bump(tally.verdicts, verdict.kind);
  if (verdict.kind === 'reject' && verdict.effects.length > 0) bump(tally.verdicts, 'reject reaching an owned artefact');
  fc.pre(verdict.kind !== 'redeem');

  const callsBefore = h.calls.length;
  const sizeBefore = JSON.stringify(h.raw.size());
  const recordsBefore = await snapshotArtefacts(h.raw, h.artefacts);
  let received: Received;
  try {
    received = await send(h.server, wire);
  } catch (error) {
    throw new Error(`no HTTP answer: ${error instanceof Error ? error.message : String(error)}`);
  }
  current.response = renderReceived(received);
  bump(tally.statuses, received.status);
  const writes = h.calls.slice(callsBefore).filter((call) => !READ_ONLY_STORAGE_METHODS.has(call.method));

  const body = checkEnvelope(received, secretsOf(h));
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
}

function describeCalls(calls: ReadonlyArray<{ method: string; args: unknown[] }>): string {
  return calls.map((call) => `${call.method}(${preview(String(call.args[0]), 20)})`).join(', ') || '(none)';
}

/** Every answer: not 5xx, JSON, never cached, no secret echoed. Returns the parsed body. */
function checkEnvelope(received: Received, secrets: readonly string[]): Record<string, unknown> {
  if (received.status >= 500) throw new Error(`answered ${received.status}`);
  if (!/^application\/json\s*(;|$)/i.test(received.headers['content-type'] ?? '')) throw new Error(`Content-Type ${String(received.headers['content-type'])}, not JSON`);
  if (received.headers['cache-control'] !== 'no-store') throw new Error(`Cache-Control ${String(received.headers['cache-control'])}`);
  if (received.headers.pragma !== 'no-cache') throw new Error(`Pragma ${String(received.headers.pragma)}`);
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
  const registered = [...TOKEN_ERRORS, ...(received.status === 429 ? ['temporarily_unavailable'] : [])];
  const devicePoll = spec.endpoint === 'token' && wire.fields.some((f) => f.name === 'grant_type' && f.value === DEVICE_GRANT);
  if (devicePoll) registered.push(...DEVICE_POLL_ERRORS);
  if (typeof code !== 'string' || !registered.includes(code)) throw new Error(`error ${JSON.stringify(code)} is not a registered code for this request`);
  const description = body.error_description;
  if (description !== undefined && (typeof description !== 'string' || !DESCRIPTION.test(description))) {
    throw new Error(`error_description outside the RFC 6749 §5.2 charset: ${JSON.stringify(description)}`);
  }
  const expectedStatus = code === 'invalid_client' ? [401] : code === 'temporarily_unavailable' ? [429] : code === 'invalid_request' ? [400, 405, 413] : [400];
  if (!expectedStatus.includes(received.status)) throw new Error(`status ${received.status} for ${code}`);
  if (received.status === 405 && received.headers.allow !== 'POST') throw new Error(`405 without Allow: POST (${String(received.headers.allow)})`);
  if (received.status === 401) {
    // Decision B16: a Basic challenge exactly when the request used the Authorization header.
    const challenged = /^Basic realm="[^"]*"/.test(received.headers['www-authenticate'] ?? '');
    if (challenged !== sendsAuthorization(spec.auth)) throw new Error(`401 ${challenged ? 'with' : 'without'} a Basic challenge, but the request ${challenged ? 'had no' : 'had an'} Authorization header`);
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
