// spec/fuzz/support/oracle.ts
// Decides, from the request alone, what the endpoint must answer.
//
// A request is valid only when it matches one of the known-good shapes, written out here from
// the RFCs and docs/decisions.md (not from the library's code): client_credentials by an
// allowed confidential client with an allowed scope; the exact redemption of a pre-minted
// artefact; a device authorization by a device client with an allowed (or default) scope.
// Everything else is a rejection, and the verdict says which error codes the documented check
// order (decision C35) allows and which storage writes are the documented side effects.
import type { MemoryClientDefinition } from '../../../lib';
import { DEVICE_GRANT, clientById, type Artefact } from './harness';
import type { AuthHeaderSpec, RequestSpec, Wire } from './requests';

/** A storage write a rejected request may make (checklist L101): keyed by code hash or grant id. */
export interface AllowedEffect {
  readonly method: 'pollDeviceCode' | 'revokeGrant';
  readonly key: string;
}

export type Verdict =
  | {
      readonly kind: 'reject';
      readonly why: string;
      /** Set when the request fails before the body is parsed into a form (decisions A1–A8): exact status. */
      readonly parseStatus?: number;
      /** Acceptable `error` values; `undefined`: any registered code. */
      readonly codes?: readonly string[];
      readonly effects: readonly AllowedEffect[];
    }
  | { readonly kind: 'token'; readonly why: string; readonly scope: string }
  | { readonly kind: 'device-authorization'; readonly why: string }
  /** Would validly redeem a pre-minted artefact: the property skips it (the artefact must stay live). */
  | { readonly kind: 'redeem'; readonly why: string };

/** Parameters any grant or client authentication reads: refused in the URL query (decision A2). */
const QUERY_REFUSED = new Set(['grant_type', 'client_id', 'client_secret', 'scope', 'resource', 'code', 'redirect_uri', 'code_verifier', 'refresh_token', 'tnuId', 'device_code']);

/** Declared parameters and their caps (decision A5, the grants' declarations). */
const GRANT_PARAMETERS: Readonly<Record<string, ReadonlyArray<{ name: string; required: boolean; max: number; pattern?: RegExp }>>> = {
  authorization_code: [
    { name: 'code', required: true, max: 512 },
    { name: 'redirect_uri', required: true, max: 2048 },
    // RFC 7636 §4.1: code-verifier = 43*128unreserved.
    { name: 'code_verifier', required: false, max: 128, pattern: /^[A-Za-z0-9\-._~]{43,128}$/ },
  ],
  refresh_token: [
    { name: 'refresh_token', required: true, max: 512 },
    { name: 'tnuId', required: false, max: 256 },
  ],
  client_credentials: [],
  [DEVICE_GRANT]: [{ name: 'device_code', required: true, max: 512 }],
};

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const MAX_SCOPE = 2048;
const USER_ONLY_SCOPES = new Set(['openid', 'offline_access']);

interface Rejection {
  readonly why: string;
  readonly codes?: readonly string[];
  readonly effects?: readonly AllowedEffect[];
}

class Rejected extends Error {
  constructor(readonly rejection: Rejection) {
    super(rejection.why);
  }
}

function fail(why: string, codes?: readonly string[], effects: readonly AllowedEffect[] = []): never {
  throw new Rejected({ why, codes, effects });
}

export interface World {
  readonly artefacts: readonly Artefact[];
  readonly maxBodyBytes: number;
}

export function judge(spec: RequestSpec, wire: Wire, world: World): Verdict {
  const parse = (why: string, status = 400): Verdict => ({ kind: 'reject', why, parseStatus: status, codes: ['invalid_request'], effects: [] });
  // Decision A1: POST only, whatever else the request says.
  if (wire.method !== 'POST') return parse(`method ${wire.method}`, 405);
  // Decision A2.
  const query = spec.query.startsWith('?') ? spec.query.slice(1) : spec.query;
  for (const name of new URLSearchParams(query).keys()) if (QUERY_REFUSED.has(name)) return parse(`'${name}' in the URL query`);
  // Decision A4: a form body, or no body and no content type at all (an empty form).
  const empty = wire.body.length === 0;
  const noForm = spec.contentType.value === undefined && empty;
  if (!noForm) {
    if (!spec.contentType.form) return parse(`content type ${JSON.stringify(spec.contentType.value)}`);
    if (spec.contentEncoding !== undefined && spec.contentEncoding.toLowerCase() !== 'identity') return parse(`Content-Encoding ${spec.contentEncoding}`);
  }
  // Decision A5: the body cap answers 413.
  if (wire.body.length > world.maxBodyBytes) return parse(`body of ${wire.body.length} bytes`, 413);
  if (spec.rawBody !== undefined && !empty) {
    // Random bytes cannot spell a valid request for the callers rawRequestArb uses.
    return { kind: 'reject', why: 'a raw (random) body', effects: [] };
  }
  // Decision A6.
  if (spec.corruption) return parse(`${spec.corruption.kind === 'escape' ? 'invalid percent-escape' : 'invalid UTF-8 bytes'} in the body`);
  // A bare empty name is an empty `&&` segment: no parameter at all (WHATWG URL, urlencoded parsing).
  const fields = wire.fields.filter((field) => field.name !== '' || field.value !== undefined);
  // Decisions A5, A7, A8.
  if (fields.length > 64) return parse(`${fields.length} parameters`);
  const seen = new Set<string>();
  for (const field of fields) {
    if (/[[\]]/.test(field.name)) return parse(`bracketed name ${JSON.stringify(field.name)}`);
    if (seen.has(field.name)) return parse(`repeated parameter ${JSON.stringify(field.name)}`);
    seen.add(field.name);
  }
  // RFC 6749 §3.2: an empty value is an absent parameter.
  const form = new Map<string, string>();
  for (const field of fields) if (field.value !== undefined && field.value !== '') form.set(field.name, field.value);

  try {
    return spec.endpoint === 'token' ? judgeToken(spec.auth, form, world) : judgeDeviceAuthorization(spec.auth, form);
  } catch (error) {
    if (!(error instanceof Rejected)) throw error;
    return { kind: 'reject', why: error.rejection.why, codes: error.rejection.codes, effects: error.rejection.effects ?? [] };
  }
}

// ---------------------------------------------------------------------------------------------
// Client authentication (RFC 6749 §2.3, decisions B13–B23)

/** The Authorization header as the server sees it (Node trims spaces and tabs around values). */
function headerText(auth: AuthHeaderSpec): string | undefined {
  if (auth.kind === 'none') return undefined;
  if (auth.kind === 'basic') return 'basic';
  const trimmed = auth.value.replace(/^[ \t]+|[ \t]+$/g, '');
  return trimmed === '' ? undefined : trimmed;
}

/** True when the request carries a (non-empty) Authorization header: a 401 then names the Basic realm. */
export function sendsAuthorization(auth: AuthHeaderSpec): boolean {
  return headerText(auth) !== undefined;
}

function basicLength(auth: Extract<AuthHeaderSpec, { kind: 'basic' }>): number {
  const enc = (text: string, encoding: string) => (encoding === 'all' || encoding === 'lower' ? Buffer.byteLength(text) * 3 : encodeURIComponent(text).length);
  return auth.scheme.length + auth.gap.length + Math.ceil((enc(auth.id, auth.idEncoding) + 1 + enc(auth.secret, auth.secretEncoding)) / 3) * 4;
}

function authenticate(auth: AuthHeaderSpec, form: ReadonlyMap<string, string>): MemoryClientDefinition {
  let id: string | undefined;
  let secret: string | undefined;
  if (headerText(auth) === undefined) {
    id = form.get('client_id');
    secret = form.get('client_secret');
  } else if (auth.kind === 'malformed') {
    fail(`malformed Authorization header (${auth.why})`, ['invalid_request']);
  } else if (auth.kind === 'raw') {
    fail('random Authorization header', ['invalid_request', 'invalid_client']);
  } else if (auth.kind === 'basic') {
    if (basicLength(auth) > 4096) fail('Authorization header over 4 KiB', ['invalid_request']);
    if (auth.id === '') fail('Basic credentials with an empty client id', ['invalid_request']);
    if (form.has('client_secret')) fail('two authentication methods (Basic and client_secret)', ['invalid_request']);
    if (form.has('client_id') && form.get('client_id') !== auth.id) fail('Basic id and body client_id differ', ['invalid_request']);
    id = auth.id;
    secret = auth.secret === '' ? undefined : auth.secret;
  }
  const invalidClient = (why: string): never => fail(`client authentication: ${why}`, ['invalid_client']);
  if (id === undefined) return invalidClient('no client id');
  if (id.length > 256 || (secret !== undefined && secret.length > 512)) return invalidClient('over the length caps');
  const client = clientById(id);
  if (!client) return invalidClient(`unknown client ${JSON.stringify(id)}`);
  if (client.token_endpoint_auth_method === 'none') {
    if (secret !== undefined) invalidClient('a public client sent a secret');
  } else if (secret !== client.client_secret) {
    invalidClient(secret === undefined ? 'no secret' : 'wrong secret');
  }
  return client;
}

const isPublic = (client: MemoryClientDefinition) => client.token_endpoint_auth_method === 'none';
const registeredScope = (client: MemoryClientDefinition) => (client.scope ?? '').split(' ').filter((s) => s.length > 0);

/** The scope parameter: `undefined` when absent or only spaces; rejects the cap and the §3.3 grammar. */
function requestedScope(form: ReadonlyMap<string, string>): string[] | undefined {
  const value = form.get('scope');
  if (value === undefined) return undefined;
  if (value.length > MAX_SCOPE) fail('scope over 2048 characters', ['invalid_scope']);
  const tokens = value.split(' ').filter((token) => token.length > 0);
  const bad = tokens.find((token) => !SCOPE_TOKEN.test(token));
  if (bad !== undefined) fail(`scope token ${JSON.stringify(bad)} outside RFC 6749 §3.3`, ['invalid_scope']);
  return tokens.length > 0 ? [...new Set(tokens)] : undefined;
}

function subsetOrFail(requested: readonly string[], allowed: readonly string[], what: string): void {
  const extra = requested.find((token) => !allowed.includes(token));
  if (extra !== undefined) fail(`scope ${JSON.stringify(extra)} not allowed (${what})`, ['invalid_scope']);
}

// ---------------------------------------------------------------------------------------------
// The token endpoint, in the order of decision C35

function judgeToken(auth: AuthHeaderSpec, form: ReadonlyMap<string, string>, world: World): Verdict {
  const grantType = form.get('grant_type');
  if (grantType === undefined) fail('no grant_type', ['invalid_request']);
  // Decision A5: a grant_type over its 256-character cap is refused before anything reads it
  // (it cannot name a served grant), so ahead of client authentication.
  if (grantType.length > 256) fail('grant_type over 256 characters', ['unsupported_grant_type']);
  const client = authenticate(auth, form);
  const declared = GRANT_PARAMETERS[grantType];
  if (!Object.prototype.hasOwnProperty.call(GRANT_PARAMETERS, grantType) || declared === undefined) fail(`grant_type ${JSON.stringify(grantType)} not served`, ['unsupported_grant_type']);
  if (!(client.grant_types ?? ['authorization_code']).includes(grantType)) fail(`${client.client_id} may not use ${grantType}`, ['unauthorized_client']);
  if (isPublic(client) && grantType === 'client_credentials') fail('client_credentials by a public client', ['unauthorized_client']);
  if (form.has('tnuId') && grantType !== 'refresh_token') fail('tnuId with another grant', ['invalid_request']);
  for (const spec of declared) {
    const value = form.get(spec.name);
    if (value === undefined) {
      if (spec.required) fail(`${spec.name} missing`, ['invalid_request']);
      continue;
    }
    if (value.length > spec.max) fail(`${spec.name} over ${spec.max} characters`, ['invalid_request']);
    if (spec.pattern && !spec.pattern.test(value)) fail(`${spec.name} malformed`, ['invalid_request']);
  }
  const scope = requestedScope(form);
  const id = client.client_id;

  if (grantType === 'client_credentials') {
    const registered = registeredScope(client);
    if (scope === undefined) {
      const defaults = client.default_scope === undefined ? registered : client.default_scope.split(' ').filter((s) => registered.includes(s));
      return { kind: 'token', why: `client_credentials by ${id}, default scope`, scope: defaults.filter((s) => !USER_ONLY_SCOPES.has(s)).join(' ') };
    }
    const userOnly = scope.find((token) => USER_ONLY_SCOPES.has(token));
    if (userOnly !== undefined) fail(`${userOnly} with client_credentials`, ['invalid_scope']);
    subsetOrFail(scope, registered, `registered for ${id}`);
    return { kind: 'token', why: `client_credentials by ${id}`, scope: scope.join(' ') };
  }

  const parameter = grantType === 'authorization_code' ? 'code' : grantType === 'refresh_token' ? 'refresh_token' : 'device_code';
  const presented = form.get(parameter) as string;
  const artefact = world.artefacts.find((a) => a.parameter === parameter && a.value === presented);
  // RFC 6749 §4.1.3, §6, §5.2: unknown and foreign artefacts are invalid_grant, and touch nothing.
  if (!artefact) fail(`unknown ${parameter}`, ['invalid_grant']);
  if (artefact.owner !== id) fail(`${artefact.name} belongs to ${artefact.owner}, not ${id}`, ['invalid_grant']);
  const name = artefact.name;
  const revoke: AllowedEffect = { method: 'revokeGrant', key: artefact.grantId };
  const poll: AllowedEffect = { method: 'pollDeviceCode', key: artefact.hash };

  if (grantType === 'authorization_code') {
    // Decision D42: a replayed code revokes its grant (checked before anything else about the code).
    if (artefact.state === 'used') fail(`${name} replayed`, ['invalid_grant'], [revoke]);
    if (form.get('redirect_uri') !== artefact.redirectUri) fail(`redirect_uri differs from ${name}'s`, ['invalid_grant']);
    if (form.get('code_verifier') !== artefact.verifier) fail(`code_verifier ${form.has('code_verifier') ? 'wrong' : 'missing'}`, ['invalid_grant']);
    if (scope !== undefined) subsetOrFail(scope, artefact.scope, `granted by ${name}`);
    return { kind: 'redeem', why: `redeems ${name}` };
  }
  if (grantType === 'refresh_token') {
    if (artefact.state === 'revoked') fail(`${name} is of a revoked family`, ['invalid_grant']);
    // Decision F54: reuse outside the retry window revokes the family (a no-op once revoked).
    if (artefact.state === 'rotated') fail(`${name} reused`, ['invalid_grant'], [revoke]);
    if (scope !== undefined) {
      subsetOrFail(scope, artefact.scope, `granted by ${name}`);
      subsetOrFail(scope, registeredScope(client), `registered for ${id}`);
    }
    // The tnuId extension is configured, but no fuzz client has update_access_token_claims.
    if (form.has('tnuId')) fail('tnuId without a profile switch', ['unauthorized_client']);
    return { kind: 'redeem', why: `redeems ${name}` };
  }
  // Device polls (RFC 8628 §3.5, decisions H67, H68, H70): every poll is registered (slow_down
  // bookkeeping), so any answer may be slow_down once the code has been polled before.
  if (artefact.state === 'pending') fail(`${name} is pending`, ['authorization_pending', 'slow_down'], [poll]);
  if (artefact.state === 'denied') fail(`${name} was denied`, ['access_denied', 'slow_down'], [poll]);
  if (artefact.state === 'used') fail(`${name} replayed`, ['invalid_grant', 'slow_down'], [poll, revoke]);
  return { kind: 'redeem', why: `redeems ${name}` };
}

// ---------------------------------------------------------------------------------------------
// The device authorization endpoint (RFC 8628 §3.1, §3.2)

function judgeDeviceAuthorization(auth: AuthHeaderSpec, form: ReadonlyMap<string, string>): Verdict {
  const client = authenticate(auth, form);
  const id = client.client_id;
  if (!(client.grant_types ?? ['authorization_code']).includes(DEVICE_GRANT)) fail(`${id} may not use the device grant`, ['unauthorized_client']);
  const registered = registeredScope(client);
  const scope = requestedScope(form);
  if (scope !== undefined) {
    subsetOrFail(scope, registered, `registered for ${id}`);
    return { kind: 'device-authorization', why: `device authorization by ${id}` };
  }
  // No scope: the client's default_scope, else invalid_scope (decision: never grant everything).
  const defaults = (client.default_scope ?? '').split(' ').filter((s) => registered.includes(s));
  if (defaults.length === 0) fail(`no scope and no default_scope for ${id}`, ['invalid_scope']);
  return { kind: 'device-authorization', why: `device authorization by ${id}, default scope` };
}

/** One line for reports. */
export function describeVerdict(verdict: Verdict): string {
  switch (verdict.kind) {
    case 'reject': {
      const parts = [`reject: ${verdict.why}`];
      if (verdict.parseStatus !== undefined) parts.push(`status ${verdict.parseStatus}`);
      if (verdict.codes) parts.push(`error in [${verdict.codes.join(', ')}]`);
      if (verdict.effects.length > 0) parts.push(`may ${verdict.effects.map((e) => `${e.method}(${e.key.slice(0, 12)}…)`).join(', ')}`);
      return parts.join('; ');
    }
    case 'token':
      return `200 with an access token: ${verdict.why}; scope ${JSON.stringify(verdict.scope)}`;
    case 'device-authorization':
      return `200 with a device code: ${verdict.why}`;
    case 'redeem':
      return `skipped (would ${verdict.why})`;
  }
}
