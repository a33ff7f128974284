// spec/fuzz/support/oracle.ts
// Decides, from the request and the state of the presented tokens, what the endpoint must answer.
//
// A request is valid only when it matches one of the known-good shapes, written out here from
// the RFCs, the README and docs/decisions.md (not from the library's code): client_credentials
// by an allowed confidential client with an allowed scope; the exact redemption of a pre-minted
// artefact; a device authorization by a device client with an allowed (or default) scope; a
// token exchange (RFC 8693) by the one client the fuzz app's policy permits, of a live token it
// may present; a revocation (RFC 7009) by a client of its own token (or of anything that is not
// a live token: still 200); an introspection (RFC 7662) by the resource server allowed to call it.
// Everything else is a rejection, and the verdict says which error codes the documented check
// order (decision C35) allows and which storage writes are the documented side effects.
import { TOKEN_EXCHANGE_GRANT_TYPE, TOKEN_TYPES, type MemoryClientDefinition } from '../../../lib';
import { ISSUER } from '../../helpers/create-app';
import { DEVICE_GRANT, EXCHANGE_SCOPE, GATEWAY, clientById, type Artefact } from './harness';
import type { AuthHeaderSpec, RequestSpec, Wire } from './requests';
import { PARTNER_ISSUER, findPresented, isLive, looksLikeJwt, type PresentedToken, type TokenModel } from './tokens';

/** A storage write a request may make (rule L101): keyed by code hash, grant id or jti. */
export interface AllowedEffect {
  readonly method: 'pollDeviceCode' | 'revokeGrant' | 'revokeAccessToken';
  readonly key: string;
}

/** What a valid token exchange must issue (RFC 8693 §2.2.1). */
export interface ExpectedExchange {
  /** The `scope` of the answer (space-separated). */
  readonly scope: string;
  /** The new access token's `sub`. */
  readonly sub: string;
  /** Whether the new token belongs to a (new) user grant: it then carries a `grant_id`. */
  readonly grantBound: boolean;
  /** The `act` claim (delegation), or undefined (impersonation). */
  readonly act: Readonly<Record<string, unknown>> | undefined;
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
  /** 200 with a new access token from a token exchange. */
  | { readonly kind: 'exchange'; readonly why: string; readonly expected: ExpectedExchange }
  /** 200 with an empty body; `effect`, when set, is the one write it must make (else none). */
  | { readonly kind: 'revocation'; readonly why: string; readonly effect: AllowedEffect | undefined }
  /** 200 with `{ "active": false }`, or the members of `token` when it is set. */
  | { readonly kind: 'introspection'; readonly why: string; readonly token: PresentedToken | undefined }
  /** Would validly redeem a pre-minted artefact: the property skips it (the artefact must stay live). */
  | { readonly kind: 'redeem'; readonly why: string };

/** The RFC 8693 §2.1 parameters (declared `exclusive`: refused with another grant_type). */
const EXCHANGE_PARAMETERS = ['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'requested_token_type', 'audience'];

/** Parameters any grant, endpoint or client authentication reads: refused in the URL query (decision A2), at every endpoint. */
const QUERY_REFUSED = new Set([
  'grant_type', 'client_id', 'client_secret', 'client_assertion', 'client_assertion_type', 'scope', 'resource', 'code', 'redirect_uri', 'code_verifier', 'refresh_token', 'tnuId', 'device_code',
  'token', 'token_type_hint', ...EXCHANGE_PARAMETERS,
]);

/** Parameters only one grant takes: with another grant_type, 400 invalid_request. */
const EXCLUSIVE: ReadonlyMap<string, string> = new Map([['tnuId', 'refresh_token'], ...EXCHANGE_PARAMETERS.map((name): [string, string] => [name, TOKEN_EXCHANGE_GRANT_TYPE])]);

/** RFC 7009 §2.1 / RFC 7662 §2.1 parameters and their caps (README). */
const MAX_PRESENTED_TOKEN = 8192;
const MAX_TOKEN_TYPE_HINT = 64;

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
  [TOKEN_EXCHANGE_GRANT_TYPE]: [
    { name: 'subject_token', required: true, max: MAX_PRESENTED_TOKEN },
    { name: 'subject_token_type', required: true, max: 256 },
    { name: 'actor_token', required: false, max: MAX_PRESENTED_TOKEN },
    { name: 'actor_token_type', required: false, max: 256 },
    { name: 'requested_token_type', required: false, max: 256 },
    { name: 'audience', required: false, max: 2048 },
  ],
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
  readonly tokens: TokenModel;
  /** The router's clock, ms. */
  readonly now: number;
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
    switch (spec.endpoint) {
      case 'token':
        return judgeToken(spec.auth, form, world);
      case 'device':
        return judgeDeviceAuthorization(spec.auth, form);
      case 'revocation':
        return judgeRevocation(spec.auth, form, world);
      case 'introspection':
        return judgeIntrospection(spec.auth, form, world);
    }
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
  // No fuzz client authenticates with a JWT assertion: any assertion parameter is a malformed
  // request (pair incomplete, wrong type, mixed methods) or a failed authentication.
  if (form.has('client_assertion') || form.has('client_assertion_type')) fail('a client assertion', ['invalid_request', 'invalid_client']);
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
  // tokenExchange({ allowPublicClients }) is off in the fuzz app.
  if (isPublic(client) && grantType === TOKEN_EXCHANGE_GRANT_TYPE) fail('token exchange by a public client', ['unauthorized_client']);
  for (const [name, owner] of EXCLUSIVE) if (form.has(name) && grantType !== owner) fail(`${name} with another grant`, ['invalid_request']);
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

  if (grantType === TOKEN_EXCHANGE_GRANT_TYPE) return judgeExchange(client, form, scope, world);

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

// ---------------------------------------------------------------------------------------------
// Token exchange (RFC 8693 §2; the README's tokenExchange section)

/** A subject or actor token after verification, as the policy would see it. */
interface Exchanged {
  readonly issuer: string;
  readonly subject: string;
  /** The host's subject, when the token names a user; undefined for a client-level token. */
  readonly localSubject: string | undefined;
  readonly claims: Readonly<Record<string, unknown>>;
}

const CLIENT_PREFIX = 'client:';

/** The fuzz app's exchange policy maps a partner's user to `p-<sub>` (see harness.ts). */
function partnerLocalSubject(sub: string): string {
  return `p-${sub}`;
}

function priorActors(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('malformed act claim', ['invalid_request']);
  const { sub, iss, act } = value as Record<string, unknown>;
  if (typeof sub !== 'string' || (iss !== undefined && typeof iss !== 'string')) return fail('malformed act claim', ['invalid_request']);
  return { sub, ...(iss !== undefined && { iss }), ...(act !== undefined && { act: priorActors(act) }) };
}

/**
 * Which presented tokens verify as which type, for whom (README): our live access tokens for
 * anyone; our ID tokens only for their audience; our refresh tokens only for their own client
 * (looked up, never consumed); JWTs of the trusted issuer. Anything else, or another type, fails.
 */
function verifyPresented(world: World, value: string, tokenType: string, clientId: string): Exchanged | undefined {
  const token = findPresented(world.tokens, value);
  if (!token || !isLive(world.tokens, token, world.now)) return undefined;
  const sub = String(token.claims.sub);
  switch (tokenType) {
    case TOKEN_TYPES.accessToken: {
      if (token.kind !== 'access_token') return undefined;
      // Every end-user token carries grant_id: a token without one (client_credentials) stays client-level.
      const clientLevel = token.grantId === undefined;
      return { issuer: ISSUER, subject: sub, localSubject: clientLevel ? undefined : sub, claims: token.claims };
    }
    case TOKEN_TYPES.idToken:
      return token.kind === 'id_token' && token.owner === clientId ? { issuer: ISSUER, subject: sub, localSubject: sub, claims: token.claims } : undefined;
    case TOKEN_TYPES.refreshToken:
      return token.kind === 'refresh_token' && token.owner === clientId ? { issuer: ISSUER, subject: sub, localSubject: sub, claims: token.claims } : undefined;
    case TOKEN_TYPES.jwt:
      // A partner's sub is never a local subject: the fuzz app's policy maps it (p-<sub>).
      return token.kind === 'partner_jwt' ? { issuer: PARTNER_ISSUER, subject: sub, localSubject: partnerLocalSubject(sub), claims: token.claims } : undefined;
    default:
      return undefined;
  }
}

function judgeExchange(client: MemoryClientDefinition, form: ReadonlyMap<string, string>, scope: readonly string[] | undefined, world: World): Verdict {
  const requested = form.get('requested_token_type') ?? TOKEN_TYPES.accessToken;
  if (requested !== TOKEN_TYPES.accessToken && requested !== TOKEN_TYPES.refreshToken) fail(`requested_token_type ${JSON.stringify(requested)}`, ['invalid_request']);
  // §2.1: actor_token_type is required with actor_token and must not come without it.
  if (form.has('actor_token') !== form.has('actor_token_type')) fail('actor_token and actor_token_type not sent together', ['invalid_request']);
  const id = client.client_id;
  const name = (value: string) => findPresented(world.tokens, value)?.name ?? 'an unknown token';
  const subjectValue = form.get('subject_token') as string;
  const subjectType = form.get('subject_token_type') as string;
  const subject = verifyPresented(world, subjectValue, subjectType, id);
  // §2.2.2: an invalid subject or actor token is invalid_request.
  if (!subject) return fail(`subject_token ${name(subjectValue)} does not verify as ${JSON.stringify(subjectType)} for ${id}`, ['invalid_request']);
  const actorValue = form.get('actor_token');
  const actorType = form.get('actor_token_type');
  const actor = actorValue !== undefined && actorType !== undefined ? verifyPresented(world, actorValue, actorType, id) : undefined;
  if (actorValue !== undefined && !actor) fail(`actor_token ${name(actorValue)} does not verify as ${JSON.stringify(actorType)} for ${id}`, ['invalid_request']);
  // §4.4: may_act names who may act for the subject (the actor, or without one the asking client).
  const mayAct = subject.claims.may_act;
  if (mayAct !== undefined) {
    const allowed = typeof mayAct === 'object' && mayAct !== null ? (mayAct as Record<string, unknown>) : {};
    // Without an actor token the asking client is the actor, named as our tokens name clients;
    // without iss, may_act names an actor of the subject token's own issuer.
    const actorSub = actor ? actor.subject : `${CLIENT_PREFIX}${id}`;
    const actorIss = actor ? actor.issuer : ISSUER;
    if (allowed.sub !== actorSub || (allowed.iss ?? subject.issuer) !== actorIss) fail('may_act does not name the actor', ['invalid_request']);
  }
  // The fuzz app's policy: the gateway only.
  if (id !== GATEWAY) fail(`the policy refuses ${id}`, ['invalid_request']);
  const registered = registeredScope(client);
  let granted: readonly string[];
  if (scope !== undefined) {
    subsetOrFail(scope, EXCHANGE_SCOPE, 'what the exchange permits');
    subsetOrFail(scope, registered, `registered for ${id}`);
    granted = scope;
  } else {
    granted = EXCHANGE_SCOPE.filter((token) => registered.includes(token));
  }
  // No `resources` option in the fuzz app: an audience cannot be served (checked right after scope).
  if (form.has('audience')) fail('audience not served by the policy', ['invalid_target']);
  // Every verified subject here names a local user or is client-level (no pairwise clients in the app).
  const clientLevel = subject.localSubject === undefined;
  // The policy never consents to a refresh token.
  if (requested === TOKEN_TYPES.refreshToken) fail('requested_token_type refresh_token without the policy\'s consent', ['invalid_request']);
  // An earlier act chain is rebuilt from sub/iss/act only.
  const prior = subject.claims.act === undefined ? undefined : priorActors(subject.claims.act);
  const act = actor === undefined ? undefined : {
    sub: actor.subject,
    ...(actor.issuer !== ISSUER && { iss: actor.issuer }),
    ...(prior !== undefined && { act: prior }),
  };

  return {
    kind: 'exchange',
    why: `exchange of ${name(subjectValue)}${actorValue !== undefined ? ` with actor ${name(actorValue)}` : ''} by ${id}`,
    expected: { scope: granted.join(' '), sub: subject.localSubject ?? subject.subject, grantBound: !clientLevel, act },
  };
}

// ---------------------------------------------------------------------------------------------
// Revocation (RFC 7009) and introspection (RFC 7662)

/** `token` (required, ≤ 8192) and `token_type_hint` (any value ≤ 64, only a hint: RFC 7009 §2.1). */
function presentedParameter(form: ReadonlyMap<string, string>): string {
  const token = form.get('token');
  if (token === undefined) return fail('token missing', ['invalid_request']);
  if (token.length > MAX_PRESENTED_TOKEN) fail(`token over ${MAX_PRESENTED_TOKEN} characters`, ['invalid_request']);
  const hint = form.get('token_type_hint');
  if (hint !== undefined && hint.length > MAX_TOKEN_TYPE_HINT) fail(`token_type_hint over ${MAX_TOKEN_TYPE_HINT} characters`, ['invalid_request']);
  // scope, grant_type and the rest are not parameters of these endpoints: ignored (RFC 6749 §3.2).
  return token;
}

function judgeRevocation(auth: AuthHeaderSpec, form: ReadonlyMap<string, string>, world: World): Verdict {
  // §2.1: public clients revoke their own tokens too.
  const client = authenticate(auth, form);
  const id = client.client_id;
  const value = presentedParameter(form);
  const token = findPresented(world.tokens, value);
  const live = token !== undefined && isLive(world.tokens, token, world.now);
  const nothing = (why: string): Verdict => ({ kind: 'revocation', why, effect: undefined });
  // Our JWTs are told from refresh tokens by their shape; the hint changes nothing.
  if (looksLikeJwt(value)) {
    if (token?.kind === 'access_token' && live) {
      if (token.owner !== id) fail(`${token.name} was issued to ${token.owner ?? '?'}, not ${id}`, ['unauthorized_client']);
      return { kind: 'revocation', why: `${id} revokes its ${token.name}`, effect: { method: 'revokeAccessToken', key: token.jti as string } };
    }
    // §2.2.1: the client's own (valid) ID token is a token type this server does not revoke;
    // another client's is answered like an unknown token.
    if (token?.kind === 'id_token' && live && token.owner === id) fail(`${token.name} is an ID token`, ['unsupported_token_type']);
    // §2.2: invalid, expired or revoked tokens are not an error.
    return nothing(`${token?.name ?? 'an unknown JWT-shaped value'} is no live token of ours`);
  }
  if (token?.kind !== 'refresh_token') return nothing(`${token?.name ?? 'an unknown value'} is no refresh token of ours`);
  // Only a live refresh token of another client is refused; a dead one is answered like an unknown token.
  if (token.owner !== id) {
    if (isLive(world.tokens, token, world.now)) fail(`${token.name} was issued to ${token.owner ?? '?'}, not ${id}`, ['unauthorized_client']);
    return nothing(`${token.name} is another client's token that is no longer live`);
  }
  if (token.grantId !== undefined && world.tokens.revokedGrants.has(token.grantId)) return nothing(`${token.name}'s grant is already revoked`);
  // A rotated token still names its family: the whole grant is revoked.
  return { kind: 'revocation', why: `${id} revokes ${token.name}'s grant`, effect: { method: 'revokeGrant', key: token.grantId as string } };
}

function judgeIntrospection(auth: AuthHeaderSpec, form: ReadonlyMap<string, string>, world: World): Verdict {
  const client = authenticate(auth, form);
  const id = client.client_id;
  // §2.1: the caller authenticates; a public client cannot.
  if (isPublic(client)) fail(`${id} is a public client`, ['unauthorized_client']);
  const value = presentedParameter(form);
  // Without an authorize hook, only clients registered with introspection_allowed (README).
  if (client.introspection_allowed !== true) fail(`${id} may not introspect`, ['unauthorized_client']);
  const token = findPresented(world.tokens, value);
  const active = token !== undefined && (token.kind === 'access_token' || token.kind === 'refresh_token') && isLive(world.tokens, token, world.now);
  return { kind: 'introspection', why: `${id} introspects ${token?.name ?? 'an unknown value'}`, token: active ? token : undefined };
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
    case 'exchange':
      return `200 with an exchanged access token: ${verdict.why}; ${JSON.stringify(verdict.expected)}`;
    case 'revocation':
      return `200, empty: ${verdict.why}${verdict.effect ? `; must ${verdict.effect.method}(${verdict.effect.key.slice(0, 12)}…)` : '; no write'}`;
    case 'introspection':
      return `200 ${verdict.token ? `active (${verdict.token.name})` : '{"active":false}'}: ${verdict.why}`;
    case 'redeem':
      return `skipped (would ${verdict.why})`;
  }
}
