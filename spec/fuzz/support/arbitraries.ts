// spec/fuzz/support/arbitraries.ts
// fast-check generators for requests to the token, device authorization, revocation and
// introspection endpoints (token exchange included at the token endpoint).
//
// Requests are built around an aim (a grant with one of the pre-minted artefacts, client
// credentials, a device authorization) and then damaged: every parameter independently good,
// missing, empty, mangled, over its cap, repeated or bracketed; client authentication by every
// method, right and wrong; junk parameters; odd content types, methods, queries and encodings;
// broken escapes and bytes. Mostly-good requests reach deep into the grants; the rest probe
// the parser. Presented tokens (revocation, introspection, subject and actor tokens) are the
// harness's live, rotated and revoked tokens of several clients, partner JWTs and hostile
// forgeries (tokens.ts). Whether a request is valid is decided by the oracle, never assumed here.
import fc from 'fast-check';
import { TOKEN_EXCHANGE_GRANT_TYPE, TOKEN_TYPES } from '../../../lib';
import { CONF_SECRET, DEVICE_GRANT, FUZZ_CLIENTS, GATEWAY, REDIRECT, REDIRECT_2, VERIFIER, clientById, type Artefact, type ArtefactParameter } from './harness';
import { wellFormed, type AuthHeaderSpec, type ContentTypeSpec, type Corruption, type Encoding, type Endpoint, type FieldSpec, type RequestSpec } from './requests';
import { HOSTILE_TOKEN_TYPES, TOKEN_TYPE_URNS, type PresentedKind, type PresentedToken, type TokenModel } from './tokens';

/** Every parameter name the endpoints read. Junk names are never one of these. */
export const MEANINGFUL_NAMES: ReadonlySet<string> = new Set([
  'grant_type', 'client_id', 'client_secret', 'client_assertion', 'client_assertion_type', 'scope', 'resource', 'code', 'redirect_uri', 'code_verifier', 'refresh_token', 'tnuId', 'device_code',
  'token', 'token_type_hint', 'subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'requested_token_type', 'audience',
]);

export const SERVED_GRANTS = ['authorization_code', 'client_credentials', 'refresh_token', DEVICE_GRANT, TOKEN_EXCHANGE_GRANT_TYPE] as const;

// ---------------------------------------------------------------------------------------------
// Characters and strings

const SPECIAL_CHARACTERS = [
  '\uFFFD', '\u0000', '\u202E', '\uFEFF', '\u00A0', '\u2028', 'é', '€', '😀', '\r\n', '\t', '\n',
  '[', ']', '%', '+', '&', '=', ' ', '"', '\\', '<', '#', ';', ':', '/', '?', "'", ',',
];

export const adversarialCharacter: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...SPECIAL_CHARACTERS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
);

export function adversarialString(maxLength: number): fc.Arbitrary<string> {
  return fc.string({ unit: adversarialCharacter, maxLength }).map(wellFormed);
}

/** Characters Node lets a client put in a header value (visible ASCII, space, tab, Latin-1). */
const headerCharacter: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.constant('\t') },
);

export function headerString(maxLength: number): fc.Arbitrary<string> {
  return fc.string({ unit: headerCharacter, maxLength });
}

/** Variations of a good value: usually different from it, occasionally equal (the oracle decides). */
export function mangled(base: string): fc.Arbitrary<string> {
  const points = Array.from(base);
  return fc.oneof(
    fc.constant(points.slice(0, -1).join('')),
    fc.tuple(fc.nat(Math.max(0, points.length - 1)), adversarialCharacter).map(([i, ch]) => [...points.slice(0, i), ch, ...points.slice(i + 1)].join('')),
    adversarialString(4).map((suffix) => base + suffix),
    fc.constantFrom(' ', '\t', '\u00A0', '\n').map((space) => space + base),
    fc.constant(base.toUpperCase()),
    fc.constant(base + base),
    adversarialString(24),
  ).map(wellFormed);
}

/** `base` made longer than `cap` characters. */
function overCap(base: string, cap: number): fc.Arbitrary<string> {
  return fc.integer({ min: cap + 1, max: cap + 40 }).map((length) => (base.length >= length ? `${base}A` : base.padEnd(length, 'A')));
}

// ---------------------------------------------------------------------------------------------
// Fields

interface FieldMeta {
  readonly nameEncoding: Encoding;
  readonly valueEncoding: Encoding;
  readonly order: number;
}

const valueEncoding: fc.Arbitrary<Encoding> = fc.oneof(
  { weight: 50, arbitrary: fc.constant<Encoding>('std') },
  { weight: 15, arbitrary: fc.constant<Encoding>('plus') },
  { weight: 10, arbitrary: fc.constant<Encoding>('all') },
  { weight: 5, arbitrary: fc.constant<Encoding>('lower') },
  { weight: 20, arbitrary: fc.constant<Encoding>('min') },
);
const nameEncoding: fc.Arbitrary<Encoding> = fc.oneof(
  { weight: 85, arbitrary: fc.constant<Encoding>('std') },
  { weight: 10, arbitrary: fc.constant<Encoding>('all') },
  { weight: 5, arbitrary: fc.constant<Encoding>('min') },
);
const fieldMeta: fc.Arbitrary<FieldMeta> = fc.record({ nameEncoding, valueEncoding, order: fc.nat(99) });

function fieldOf(name: string, value: string | undefined, meta: FieldMeta): FieldSpec {
  return { name: wellFormed(name), value: value === undefined ? undefined : wellFormed(value), ...meta };
}

interface ParameterWeights {
  readonly good: number;
  readonly absent: number;
  readonly bad: number;
}

const USUAL: ParameterWeights = { good: 70, absent: 6, bad: 10 };

/**
 * How much damage a request takes: `rough` requests break many things at once (the parser's
 * checks), `calm` ones usually break one thing or none, so they get past client authentication
 * and into the grants. Calm multiplies the weight of every good choice by this factor.
 */
export type Calm = 1 | 8;

function calmed(weights: ParameterWeights, calm: Calm): ParameterWeights {
  return { ...weights, good: weights.good * calm };
}

/**
 * One parameter in any state: good, absent, empty, bare (no '='), mangled, over its cap,
 * repeated (with the same, another or an empty value) or with a bracketed name.
 */
export function parameter(name: string, good: fc.Arbitrary<string>, bad: fc.Arbitrary<string>, cap: number, weights: ParameterWeights = USUAL): fc.Arbitrary<FieldSpec[]> {
  const one = (value: fc.Arbitrary<string | undefined>) => fc.tuple(value, fieldMeta).map(([v, meta]) => [fieldOf(name, v, meta)]);
  return fc.oneof(
    { weight: weights.good, arbitrary: one(good) },
    { weight: weights.absent, arbitrary: fc.constant<FieldSpec[]>([]) },
    { weight: 4, arbitrary: one(fc.constant('')) },
    { weight: 2, arbitrary: one(fc.constant(undefined)) },
    { weight: weights.bad, arbitrary: one(bad) },
    { weight: 3, arbitrary: one(good.chain((v) => overCap(v, cap))) },
    {
      weight: 3,
      arbitrary: fc.tuple(good, fc.oneof(good, bad, fc.constant('')), fieldMeta, fieldMeta).map(([a, b, m1, m2]) => [fieldOf(name, a, m1), fieldOf(name, b, m2)]),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(fc.constantFrom(`${name}[]`, `${name}[0]`, `${name}[x]`, `${name}]`, `[${name}`, `${name}[`), good, fieldMeta)
        .map(([bracketed, v, meta]) => [fieldOf(bracketed, v, meta)]),
    },
  );
}

const NEAR_MISS_NAMES = [
  'Grant_Type', 'GRANT_TYPE', 'grant_type ', ' grant_type', 'grant-type', 'granttype', 'Client_Id', 'client_id\u0000', 'clientid',
  'client-secret', 'Scope', 'scope ', 'codes', 'Code', 'refresh-token', 'device_code ', 'tnuid', 'TNUID', 'response_type', 'nonce',
  'state', 'resource', 'audiences', 'password', 'username', 'assertion', 'client_assertion', 'client_assertion_type',
  'Token', 'token ', 'tokens', 'token_type', 'token-type-hint', 'Subject_Token', 'subject-token', 'actor', 'requested_token', 'subject_token_type ',
  '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'prototype', '',
];

const junkName: fc.Arbitrary<string> = fc.oneof(fc.constantFrom(...NEAR_MISS_NAMES), adversarialString(12)).filter((name) => !MEANINGFUL_NAMES.has(name));
const junkField: fc.Arbitrary<FieldSpec> = fc.tuple(junkName, fc.option(adversarialString(16), { nil: undefined, freq: 8 }), fieldMeta).map(([n, v, m]) => fieldOf(n, v, m));

/** Unknown parameters: usually a few, sometimes over the 64-parameter cap, sometimes a big one. */
const junkFields = (calm: Calm): fc.Arbitrary<FieldSpec[]> => fc.oneof(
  { weight: 90 * calm, arbitrary: fc.array(junkField, { maxLength: 3 }) },
  { weight: 3, arbitrary: fc.integer({ min: 65, max: 80 }).map((n) => Array.from({ length: n }, (_, i) => fieldOf(`x${i}`, '1', { nameEncoding: 'std', valueEncoding: 'std', order: 50 }))) },
  { weight: 2, arbitrary: fc.integer({ min: 60_000, max: 70_000 }).map((n) => [fieldOf('big', 'b'.repeat(n), { nameEncoding: 'std', valueEncoding: 'std', order: 60 })]) },
);

// ---------------------------------------------------------------------------------------------
// Client authentication

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const formEncoded = (text: string) => encodeURIComponent(text).replace(/%20/g, '+');
const GOOD_PAIR = `fz-conf:${formEncoded(CONF_SECRET)}`;

/** Broken Authorization headers (decision B14); each says why. */
const malformedAuthorization: fc.Arbitrary<AuthHeaderSpec> = fc.constantFrom<[string, string]>(
  ['no colon', `Basic ${b64(`fz-conf${formEncoded(CONF_SECRET)}`)}`],
  ['percent-encoded colon only', `Basic ${b64(`fz-conf%3A${formEncoded(CONF_SECRET)}`)}`],
  ['not base64', 'Basic !!!!'],
  ['base64url characters', `Basic ${b64(GOOD_PAIR).replace(/[+/]/g, '-')}-_`],
  ['base64 of length 4n+1', `Basic ${b64(GOOD_PAIR).slice(0, 13)}`],
  ['trailing garbage', `Basic ${b64(GOOD_PAIR)} x`],
  ['two credentials', `Basic ${b64(GOOD_PAIR)}, Basic ${b64(GOOD_PAIR)}`],
  ['unencoded secret (bad escape)', `Basic ${b64(`fz-conf:${CONF_SECRET}`)}`],
  ['bad escape in id', `Basic ${b64('fz%zz:secret')}`],
  ['lone percent', `Basic ${b64('fz-conf:%')}`],
  ['truncated UTF-8 escape', `Basic ${b64('%E2%82:x')}`],
  ['empty id', `Basic ${b64(`:${formEncoded(CONF_SECRET)}`)}`],
  ['empty credentials', `Basic ${b64(':')}`],
  ['scheme only', 'Basic'],
  ['tab after scheme', `Basic\t${b64(GOOD_PAIR)}`],
  ['other scheme', 'Bearer abc.def.ghi'],
  ['digest', 'Digest username="fz-conf", realm="x"'],
  ['negotiate', 'Negotiate YIIB'],
  ['glued scheme', `Basic${b64(GOOD_PAIR)}`],
  ['scheme with suffix', `Basicx ${b64(GOOD_PAIR)}`],
  ['over 4 KiB', `Basic ${b64(`fz-conf:${'a'.repeat(3200)}`)}`],
).map(([why, value]) => ({ kind: 'malformed' as const, why, value }));

const rawAuthorization: fc.Arbitrary<AuthHeaderSpec> = fc.oneof(
  headerString(40),
  headerString(30).map((rest) => `Basic ${rest}`),
  fc.uint8Array({ maxLength: 24 }).map((bytes) => `Basic ${Buffer.from(bytes).toString('base64')}`),
).map((value) => ({ kind: 'raw' as const, value }));

const schemeArb = fc.oneof({ weight: 8, arbitrary: fc.constant('Basic') }, { weight: 1, arbitrary: fc.constantFrom('basic', 'BASIC', 'bAsIc') });
const gapArb = fc.oneof({ weight: 9, arbitrary: fc.constant(' ') }, { weight: 1, arbitrary: fc.constant('   ') });
const basicEncoding: fc.Arbitrary<Encoding> = fc.oneof(
  { weight: 8, arbitrary: fc.constant<Encoding>('plus') },
  { weight: 2, arbitrary: fc.constant<Encoding>('std') },
  { weight: 1, arbitrary: fc.constantFrom<Encoding>('all', 'lower') },
);

function basicHeader(id: string, secret: string): fc.Arbitrary<AuthHeaderSpec> {
  return fc.record({ scheme: schemeArb, gap: gapArb, idEncoding: basicEncoding, secretEncoding: basicEncoding })
    .map((parts) => ({ kind: 'basic' as const, id: wellFormed(id), secret: wellFormed(secret), ...parts }));
}

/** The Authorization header and the body fields that carry the client's identity. */
export interface ClientPresentation {
  readonly auth: AuthHeaderSpec;
  readonly fields: FieldSpec[];
}

const NONE: AuthHeaderSpec = { kind: 'none' };
const anyId = fc.oneof(
  fc.constantFrom('fz-unknown', 'FZ-CONF', 'fz-conf ', 'fz_conf', '__proto__', 'constructor', 'toString', 'hasOwnProperty'),
  adversarialString(12),
  fc.constant('u'.repeat(300)),
);

function idField(id: string, calm: Calm): fc.Arbitrary<FieldSpec[]> {
  return parameter('client_id', fc.constant(id), mangled(id), 256, calmed({ good: 85, absent: 3, bad: 4 }, calm));
}
function secretField(secret: string, calm: Calm): fc.Arbitrary<FieldSpec[]> {
  return parameter('client_secret', fc.constant(secret), mangled(secret), 512, calmed({ good: 85, absent: 3, bad: 4 }, calm));
}
const join = (a: FieldSpec[], b: FieldSpec[]) => [...a, ...b];

/**
 * How a caller presents itself: mostly the aimed-at client with its right credentials (Basic,
 * in the body, Basic plus client_id, public client by id or with an empty Basic password),
 * else another or unknown client, a wrong or missing secret, two methods at once, conflicting
 * ids, nothing, or a broken or random Authorization header.
 */
export function presentation(owner: string, calm: Calm = 1): fc.Arbitrary<ClientPresentation> {
  const caller = fc.oneof(
    { weight: 70 * calm, arbitrary: fc.constant(owner) },
    { weight: 15, arbitrary: fc.constantFrom(...FUZZ_CLIENTS.map((client) => client.client_id)) },
    { weight: 5, arbitrary: anyId },
  );
  return caller.chain((id): fc.Arbitrary<ClientPresentation> => {
    const client = clientById(id);
    const secret = client?.client_secret ?? 'not-a-secret';
    const secretArb = client?.token_endpoint_auth_method === 'none'
      ? fc.oneof({ weight: 9, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom('x', CONF_SECRET) })
      : fc.oneof({ weight: 88 * calm, arbitrary: fc.constant(secret) }, { weight: 8, arbitrary: mangled(secret) }, { weight: 4, arbitrary: fc.constant('') });
    return secretArb.chain((presented): fc.Arbitrary<ClientPresentation> => fc.oneof(
      { weight: 45 * calm, arbitrary: basicHeader(id, presented).map((auth) => ({ auth, fields: [] })) },
      {
        weight: 25 * calm,
        arbitrary: fc.tuple(idField(id, calm), presented === '' ? fc.constant<FieldSpec[]>([]) : secretField(presented, calm)).map(([a, b]) => ({ auth: NONE, fields: join(a, b) })),
      },
      { weight: 8 * calm, arbitrary: fc.tuple(basicHeader(id, presented), idField(id, calm)).map(([auth, fields]) => ({ auth, fields })) },
      { weight: 3, arbitrary: fc.tuple(basicHeader(id, presented), secretField(presented || 'x', calm)).map(([auth, fields]) => ({ auth, fields })) },
      { weight: 3, arbitrary: fc.tuple(basicHeader(id, presented), idField('fz-other', calm)).map(([auth, fields]) => ({ auth, fields })) },
      { weight: 3, arbitrary: fc.constant<ClientPresentation>({ auth: NONE, fields: [] }) },
      { weight: 5, arbitrary: fc.tuple(malformedAuthorization, fc.option(idField(id, calm), { nil: undefined })).map(([auth, fields]) => ({ auth, fields: fields ?? [] })) },
      { weight: 3, arbitrary: fc.tuple(rawAuthorization, fc.option(idField(id, calm), { nil: undefined })).map(([auth, fields]) => ({ auth, fields: fields ?? [] })) },
    ));
  });
}

// ---------------------------------------------------------------------------------------------
// Grant parameters

const UNKNOWN_GRANT_TYPES = [
  'password', 'implicit', 'urn:ietf:params:oauth:grant-type:jwt-bearer', `${TOKEN_EXCHANGE_GRANT_TYPE} `, 'urn:ietf:params:oauth:grant-type:token_exchange',
  'urn:ietf:params:oauth:grant-type:saml2-bearer', 'Client_Credentials', 'AUTHORIZATION_CODE', 'device_code',
  `${DEVICE_GRANT} `, ' refresh_token', 'client_credentials\u0000', 'client_credentials,refresh_token', 'client_credentials client_credentials',
  '__proto__', 'constructor', 'toString', 'hasOwnProperty',
];

function grantTypeField(grantType: string, calm: Calm): fc.Arbitrary<FieldSpec[]> {
  const good = fc.oneof({ weight: 9, arbitrary: fc.constant(grantType) }, { weight: 1, arbitrary: fc.constantFrom(...SERVED_GRANTS) });
  const bad = fc.oneof(fc.constantFrom(...UNKNOWN_GRANT_TYPES), mangled(grantType));
  return parameter('grant_type', good, bad, 256, calmed({ good: 80, absent: 4, bad: 8 }, calm));
}

const SCOPE_BAD = [
  'openid', 'offline_access', 'admin', 'api:delete', 'API:READ', 'api:read"', 'api:read\\x', 'é', 'api:read\tapi:write',
  'api:read,api:write', ' ', '   ', 'api:read\u0000', 'profile', 'email', '__proto__', 'constructor', 'api:read constructor',
];

/** A scope: usually absent or a subset of `natural`, else unregistered, malformed or around the 2048-character cap. */
function scopeField(natural: readonly string[], calm: Calm): fc.Arbitrary<FieldSpec[]> {
  const subset = fc.subarray([...natural], { minLength: 1 }).map((tokens) => tokens.join(' '));
  const good = fc.oneof(
    { weight: 8, arbitrary: subset },
    { weight: 1, arbitrary: subset.map((s) => `  ${s.replace(/ /g, '   ')} `) },
    { weight: 1, arbitrary: subset.map((s) => `${s} ${s}`) },
  );
  const bad = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...SCOPE_BAD) },
    { weight: 3, arbitrary: adversarialString(20) },
    // A registered scope padded with spaces to just below, at and above the cap.
    { weight: 2, arbitrary: fc.constantFrom(2047, 2048, 2049, 2050).map((length) => `api:read${' '.repeat(length - 8)}`) },
  );
  return parameter('scope', good, bad, 2048, { good: 30 * calm, absent: 45 * calm, bad: 15 });
}

function artefactValues(artefacts: readonly Artefact[], parameter: ArtefactParameter): string[] {
  return artefacts.filter((a) => a.parameter === parameter).map((a) => a.value);
}

/** The value of an artefact parameter: mostly the aimed-at one, sometimes another of its kind. */
function artefactField(artefacts: readonly Artefact[], target: Artefact, calm: Calm): fc.Arbitrary<FieldSpec[]> {
  const good = fc.oneof({ weight: 9, arbitrary: fc.constant(target.value) }, { weight: 1, arbitrary: fc.constantFrom(...artefactValues(artefacts, target.parameter)) });
  return parameter(target.parameter, good, mangled(target.value), 512, calmed(USUAL, calm));
}

const VERIFIER_BAD = fc.oneof(
  mangled(VERIFIER),
  fc.constant('a'.repeat(43)),
  fc.constantFrom('short', `${'a'.repeat(42)}!`, 'a'.repeat(129), `${VERIFIER.slice(0, 20)} ${VERIFIER.slice(21)}`),
);
const REDIRECT_BAD = fc.oneof(
  fc.constantFrom(REDIRECT_2, `${REDIRECT}/`, REDIRECT.toUpperCase(), 'https://FZ.example.com/cb', `${REDIRECT}?x=1`, `${REDIRECT}#f`, 'https://fz.example.com:443/cb'),
  mangled(REDIRECT),
);

/** The grant-specific parameters of an aim, each in any state. */
function grantFields(artefacts: readonly Artefact[], target: Artefact | undefined, grantType: string, calm: Calm): fc.Arbitrary<FieldSpec[]> {
  if (grantType === 'authorization_code') {
    const code = target ?? artefacts.find((a) => a.parameter === 'code') as Artefact;
    return fc.tuple(
      artefactField(artefacts, code, calm),
      parameter('redirect_uri', fc.constant(code.redirectUri ?? REDIRECT), REDIRECT_BAD, 2048, calmed(USUAL, calm)),
      parameter('code_verifier', fc.constant(code.verifier ?? VERIFIER), VERIFIER_BAD, 128, calmed(USUAL, calm)),
    ).map((parts) => parts.flat());
  }
  if (grantType === 'refresh_token') {
    const token = target ?? artefacts.find((a) => a.parameter === 'refresh_token') as Artefact;
    return fc.tuple(
      artefactField(artefacts, token, calm),
      parameter('tnuId', fc.constant('profile-1'), adversarialString(8), 256, { good: 3, absent: 90 * calm, bad: 2 }),
    ).map((parts) => parts.flat());
  }
  if (grantType === DEVICE_GRANT) {
    const device = target ?? artefacts.find((a) => a.parameter === 'device_code') as Artefact;
    return artefactField(artefacts, device, calm);
  }
  return fc.constant([]);
}

/** Now and then a parameter of another grant (ignored, or refused when exclusive). */
function strayGrantField(artefacts: readonly Artefact[], calm: Calm): fc.Arbitrary<FieldSpec[]> {
  const stray = fc.oneof(
    fc.constantFrom(...artefacts).map((a) => ({ name: a.parameter as string, value: a.value })),
    fc.constant({ name: 'redirect_uri', value: REDIRECT }),
    fc.constant({ name: 'code_verifier', value: VERIFIER }),
    fc.constant({ name: 'tnuId', value: 'profile-1' }),
  );
  return fc.oneof(
    { weight: 85 * calm, arbitrary: fc.constant<FieldSpec[]>([]) },
    { weight: 15, arbitrary: fc.tuple(stray, fieldMeta).map(([s, meta]) => [fieldOf(s.name, s.value, meta)]) },
  );
}

// ---------------------------------------------------------------------------------------------
// The envelope: method, query, content type, encoding, framing, corruption

const FORM_TYPES = [
  'application/x-www-form-urlencoded',
  'APPLICATION/X-WWW-FORM-URLENCODED',
  'application/x-www-form-urlencoded; charset=UTF-8',
  'application/x-www-form-urlencoded;charset=utf-8',
  'Application/X-Www-Form-Urlencoded; charset="UTF-8"',
  'application/x-www-form-urlencoded; foo=bar',
  'application/x-www-form-urlencoded ; charset=utf-8',
];
const NOT_FORM_TYPES = [
  'application/json', 'application/json; charset=utf-8', 'multipart/form-data; boundary=xyz', 'text/plain', 'text/plain; charset=utf-8',
  'application/x-www-form-urlencoded; charset=iso-8859-1', 'application/x-www-form-urlencoded; charset=utf-16',
  'application/x-www-form-urlencoded; charset=latin1', 'application/x-www-form-urlencoded; charset=',
  'application/x-www-form-urlencoded; charset=UTF-8; charset=iso-8859-1', 'application/x-www-form-urlencodedx',
  'application/x-www-form', 'application/*', '*/*', 'application/x-www-form-urlencoded, application/json', 'text/html',
  'application/xml', '',
];

export const contentTypeArb: fc.Arbitrary<ContentTypeSpec> = fc.oneof(
  { weight: 85, arbitrary: fc.constantFrom(...FORM_TYPES).map((value) => ({ value, form: true })) },
  { weight: 8, arbitrary: fc.constantFrom(...NOT_FORM_TYPES).map((value) => ({ value, form: false })) },
  { weight: 3, arbitrary: fc.constant({ value: undefined, form: false }) },
  {
    weight: 2,
    arbitrary: headerString(30)
      .filter((value) => !value.trim().toLowerCase().startsWith('application/x-www-form-urlencoded'))
      .map((value) => ({ value, form: false })),
  },
);

export const methodArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 97, arbitrary: fc.constant('POST') },
  { weight: 3, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS') },
);

const QUERIES = [
  '?foo=bar', '?state=abc&nonce=1', '?', '?a[b]=c', '?client_secret=x', '?code=abc', '?grant_type=client_credentials', '?scope=',
  '?device_code=x', '?tnuId=1', '?resource=https://api.example', '?client_id=fz-conf', '?redirect_uri=x', '?code_verifier=x', '?refresh_token=x', '?%63ode=1',
  '?foo=bar&client_secret=', '?Client_Secret=x', '?%zz=1', '?a=%FF', '?%E2%82', '?code', '?&&&', '?%63%6F%64%65=x', '?scope%00=x',
];
export const queryArb: fc.Arbitrary<string> = fc.oneof({ weight: 92, arbitrary: fc.constant('') }, { weight: 8, arbitrary: fc.constantFrom(...QUERIES) });

export const contentEncodingArb: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 95, arbitrary: fc.constant(undefined) },
  { weight: 5, arbitrary: fc.constantFrom('identity', 'IDENTITY', 'gzip', 'deflate', 'br', 'gzip, identity') },
);

const ampersandsArb = fc.oneof(
  { weight: 85, arbitrary: fc.constant('none' as const) },
  { weight: 5, arbitrary: fc.constantFrom('leading' as const, 'trailing' as const, 'doubled' as const) },
);

const padToArb: fc.Arbitrary<number | undefined> = fc.oneof(
  { weight: 97, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: fc.constantFrom(65_535, 65_536, 65_537) },
);

/** Invalid percent-escapes and escaped invalid UTF-8; each is invalid at the end of a name or value. */
const BAD_ESCAPES = ['%', '%z', '%zz', '%G0', '%2', '%%', '%E2%82', '%C3%28', '%ED%A0%80', '%C0%AF', '%FF'];
/** Byte sequences that are invalid UTF-8 wherever they are inserted. */
const BAD_BYTES: number[][] = [[0xff], [0xfe], [0x80], [0xc3, 0x28], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xf4, 0x90, 0x80, 0x80]];

const corruptionArb: fc.Arbitrary<Corruption | undefined> = fc.oneof(
  { weight: 88, arbitrary: fc.constant(undefined) },
  {
    weight: 6,
    arbitrary: fc.record({ field: fc.nat(20), part: fc.constantFrom('name' as const, 'value' as const), text: fc.constantFrom(...BAD_ESCAPES) })
      .map((c) => ({ kind: 'escape' as const, ...c })),
  },
  {
    weight: 6,
    arbitrary: fc.record({ at: fc.nat(1000).map((n) => n / 1000), bytes: fc.constantFrom(...BAD_BYTES) }).map((c) => ({ kind: 'bytes' as const, ...c })),
  },
);

interface Envelope {
  readonly method: string;
  readonly query: string;
  readonly contentType: ContentTypeSpec;
  readonly contentEncoding: string | undefined;
  readonly ampersands: RequestSpec['ampersands'];
  readonly padTo: number | undefined;
  readonly corruption: Corruption | undefined;
}

/** Everything around the parameters; calm requests mostly keep it clean. */
const envelopeArb = (calm: Calm): fc.Arbitrary<Envelope> => {
  const mostly = <T>(clean: T, arbitrary: fc.Arbitrary<T>) => (calm === 1 ? arbitrary : fc.oneof({ weight: calm * 4, arbitrary: fc.constant(clean) }, { weight: 1, arbitrary }));
  return fc.record({
    method: mostly('POST', methodArb),
    query: mostly('', queryArb),
    contentType: mostly({ value: 'application/x-www-form-urlencoded', form: true }, contentTypeArb),
    contentEncoding: mostly(undefined, contentEncodingArb),
    ampersands: ampersandsArb,
    padTo: mostly(undefined, padToArb),
    corruption: mostly(undefined, corruptionArb),
  });
};

// ---------------------------------------------------------------------------------------------
// Whole requests

function assemble(endpoint: RequestSpec['endpoint'], aim: string, envelope: Envelope, who: ClientPresentation, fields: FieldSpec[][]): RequestSpec {
  return { endpoint, aim, ...envelope, auth: who.auth, fields: [...who.fields, ...fields.flat()], rawBody: undefined };
}

/**
 * Token requests aimed at every grant: client_credentials, each pre-minted artefact (by its
 * owner, mostly), and unknown grant types.
 */
export function tokenRequestArb(artefacts: readonly Artefact[]): fc.Arbitrary<RequestSpec> {
  const forCalm = (calm: Calm) => {
    const build = (aim: string, grantType: string, owner: string, target: Artefact | undefined, natural: readonly string[]) =>
      fc.tuple(
        envelopeArb(calm),
        presentation(owner, calm),
        grantTypeField(grantType, calm),
        grantFields(artefacts, target, grantType, calm),
        scopeField(natural, calm),
        strayGrantField(artefacts, calm),
        junkFields(calm),
      ).map(([envelope, who, ...fields]) => assemble('token', `${aim} by ${owner}${calm === 1 ? ', rough' : ''}`, envelope, who, fields));
    const aims: Array<fc.Arbitrary<RequestSpec>> = [];
    aims.push(fc.constantFrom('fz-conf', 'fz-other', 'fz-tv', 'fz-public').chain((owner) => build('client_credentials', 'client_credentials', owner, undefined, ['api:read', 'api:write'])));
    for (const artefact of artefacts) aims.push(build(artefact.name, artefact.grantType, artefact.owner, artefact, artefact.scope));
    aims.push(fc.constantFrom(...UNKNOWN_GRANT_TYPES).chain((grantType) => build(`grant ${JSON.stringify(grantType)}`, grantType, 'fz-conf', undefined, ['api:read'])));
    return fc.oneof(...aims);
  };
  return fc.oneof(forCalm(1), forCalm(8));
}

/** Device authorization requests by each client (device clients mostly). */
export function deviceAuthorizationRequestArb(): fc.Arbitrary<RequestSpec> {
  const owner = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom('fz-conf', 'fz-public', 'fz-tv') },
    { weight: 2, arbitrary: fc.constantFrom('fz-other', 'fz-code-only') },
  );
  return fc.tuple(owner, fc.constantFrom<Calm>(1, 8)).chain(([id, calm]) => {
    const natural = (clientById(id)?.scope ?? '').split(' ');
    // grant_type means nothing here; sometimes sent anyway.
    const grantType = fc.oneof({ weight: 7, arbitrary: fc.constant<FieldSpec[]>([]) }, { weight: 3, arbitrary: grantTypeField(DEVICE_GRANT, calm) });
    return fc.tuple(envelopeArb(calm), presentation(id, calm), scopeField(natural, calm), grantType, junkFields(calm))
      .map(([envelope, who, ...fields]) => assemble('device', `device authorization by ${id}${calm === 1 ? ', rough' : ''}`, envelope, who, fields));
  });
}

/**
 * Raw bodies (random bytes, or text over a form-ish alphabet) with any content type, method,
 * query and Authorization header. fz-tv, whose default_scope lets an empty form start a device
 * authorization, is never the caller: so no such request can be valid (the oracle relies on it).
 */
export function rawRequestArb(endpoints: readonly Endpoint[] = ['token', 'device']): fc.Arbitrary<RequestSpec> {
  const formish = fc.string({ unit: fc.constantFrom('a', 'b', '=', '&', '%', '+', '[', ']', '2', 'F', 'é', '\uFFFD', ' ', ';'), maxLength: 40 })
    .map((text) => new Uint8Array(Buffer.from(text, 'utf8')));
  const body = fc.oneof(fc.uint8Array({ maxLength: 200 }), formish, fc.constant(new Uint8Array(0)));
  const auth = fc.oneof(
    presentation('fz-conf').map((who) => who.auth),
    presentation('fz-public').map((who) => who.auth),
    malformedAuthorization,
    rawAuthorization,
  ).filter((auth) => auth.kind !== 'basic' || auth.id !== 'fz-tv');
  return fc.record({
    endpoint: fc.constantFrom(...endpoints),
    method: fc.oneof({ weight: 9, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS') }),
    query: queryArb,
    contentType: contentTypeArb,
    contentEncoding: contentEncodingArb,
    auth,
    rawBody: body,
  }).map((r): RequestSpec => ({
    ...r,
    aim: 'raw body',
    fields: [],
    ampersands: 'none',
    padTo: undefined,
    corruption: undefined,
  }));
}

// ---------------------------------------------------------------------------------------------
// Presented tokens: revocation (RFC 7009), introspection (RFC 7662), token exchange (RFC 8693)

/** What the harness offers a generator: its artefacts and the presentable tokens. */
export interface TokenWorld {
  readonly artefacts: readonly Artefact[];
  readonly tokens: TokenModel;
}

const GOOD_HINTS = ['access_token', 'refresh_token'];
const BAD_HINTS = ['id_token', 'ACCESS_TOKEN', 'Refresh_Token', TOKEN_TYPES.accessToken, 'device_code', 'code', ' access_token', 'access_token\u0000', '__proto__', 'constructor', 'x'.repeat(64)];

/** token_type_hint: usually absent, else right or wrong (only a hint, RFC 7009 §2.1), junk, over its 64-character cap, repeated. */
function hintField(calm: Calm): fc.Arbitrary<FieldSpec[]> {
  return parameter('token_type_hint', fc.constantFrom(...GOOD_HINTS), fc.oneof(fc.constantFrom(...BAD_HINTS), adversarialString(12)), 64, { good: 20, absent: 60 * calm, bad: 10 });
}

/** A presented token as a target: a known token, or a code or device code (which are no tokens of these endpoints). */
function presentedTarget(world: TokenWorld, weights: Readonly<Partial<Record<PresentedKind | 'artefact', number>>>): fc.Arbitrary<PresentedToken> {
  const arms: Array<fc.WeightedArbitrary<PresentedToken>> = [];
  const kinds: PresentedKind[] = ['access_token', 'refresh_token', 'id_token', 'partner_jwt', 'inert'];
  for (const kind of kinds) {
    const of = world.tokens.tokens.filter((token) => token.kind === kind);
    const weight = weights[kind] ?? 0;
    if (of.length > 0 && weight > 0) arms.push({ weight, arbitrary: fc.constantFrom(...of) });
  }
  const codes = world.artefacts.filter((a) => a.parameter !== 'refresh_token').map((a): PresentedToken => ({ name: a.name, kind: 'inert', value: a.value, claims: {} }));
  if ((weights.artefact ?? 0) > 0) arms.push({ weight: weights.artefact ?? 0, arbitrary: fc.constantFrom(...codes) });
  return fc.oneof(...arms);
}

/** The value of a token parameter: mostly the target, sometimes another token, else mangled or hostile. */
function presentedField(name: string, world: TokenWorld, target: PresentedToken, calm: Calm): fc.Arbitrary<FieldSpec[]> {
  const values = world.tokens.tokens.map((token) => token.value);
  const inert = world.tokens.tokens.filter((token) => token.kind === 'inert').map((token) => token.value);
  const good = fc.oneof({ weight: 9, arbitrary: fc.constant(target.value) }, { weight: 1, arbitrary: fc.constantFrom(...values) });
  const bad = fc.oneof(mangled(target.value), fc.constantFrom(...inert));
  return parameter(name, good, bad, 8192, calmed(USUAL, calm));
}

const TYPE_OF: Readonly<Record<PresentedKind, string | undefined>> = {
  access_token: TOKEN_TYPES.accessToken,
  refresh_token: TOKEN_TYPES.refreshToken,
  id_token: TOKEN_TYPES.idToken,
  partner_jwt: TOKEN_TYPES.jwt,
  inert: undefined,
};

/** A `*_token_type`: mostly the type of the token sent, else another URN, a hostile look-alike or a mangled one. */
function tokenTypeField(name: string, target: PresentedToken, calm: Calm): fc.Arbitrary<FieldSpec[]> {
  const right = TYPE_OF[target.kind];
  const good = right === undefined ? fc.constantFrom(...TOKEN_TYPE_URNS) : fc.oneof({ weight: 8, arbitrary: fc.constant(right) }, { weight: 2, arbitrary: fc.constantFrom(...TOKEN_TYPE_URNS) });
  const bad = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...HOSTILE_TOKEN_TYPES) }, { weight: 1, arbitrary: mangled(right ?? TOKEN_TYPES.accessToken) });
  return parameter(name, good, bad, 256, calmed(USUAL, calm));
}

/** Parameters these endpoints do not read (scope, grant_type, exchange parameters): to be ignored. */
function strayServiceFields(calm: Calm): fc.Arbitrary<FieldSpec[]> {
  const stray = fc.oneof(
    fc.record({ name: fc.constant('scope'), value: fc.oneof(fc.constantFrom('api:read', 'openid offline_access'), fc.constantFrom(...SCOPE_BAD), fc.constant(`api:read${' '.repeat(2050)}`)) }),
    fc.record({ name: fc.constant('grant_type'), value: fc.constantFrom(...SERVED_GRANTS, 'password') }),
    fc.record({ name: fc.constantFrom('subject_token', 'audience', 'requested_token_type', 'tnuId', 'refresh_token', 'code'), value: adversarialString(16) }),
  );
  return fc.oneof(
    { weight: 85 * calm, arbitrary: fc.constant<FieldSpec[]>([]) },
    { weight: 15, arbitrary: fc.tuple(stray, fieldMeta).map(([field, meta]) => [fieldOf(field.name, field.value, meta)]) },
  );
}

const tag = (calm: Calm) => (calm === 1 ? ', rough' : '');

/** Revocation requests: every kind of token, mostly by the client it was issued to. */
export function revocationRequestArb(world: TokenWorld): fc.Arbitrary<RequestSpec> {
  const target = presentedTarget(world, { access_token: 5, refresh_token: 4, id_token: 1, partner_jwt: 1, inert: 3, artefact: 1 });
  return fc.tuple(target, fc.constantFrom<Calm>(1, 8)).chain(([token, calm]) => {
    const owner = token.owner ?? 'fz-conf';
    return fc.tuple(envelopeArb(calm), presentation(owner, calm), presentedField('token', world, token, calm), hintField(calm), strayServiceFields(calm), junkFields(calm))
      .map(([envelope, who, ...fields]) => assemble('revocation', `revoke ${token.name} as ${owner}${tag(calm)}`, envelope, who, fields));
  });
}

/** Introspection requests: mostly by the resource server allowed to introspect, of every kind of token. */
export function introspectionRequestArb(world: TokenWorld): fc.Arbitrary<RequestSpec> {
  const target = presentedTarget(world, { access_token: 5, refresh_token: 3, id_token: 1, partner_jwt: 1, inert: 3, artefact: 1 });
  const caller = (token: PresentedToken) => fc.oneof(
    { weight: 8, arbitrary: fc.constant('fz-rs') },
    { weight: 1, arbitrary: fc.constant(token.owner ?? 'fz-conf') },
    { weight: 1, arbitrary: fc.constantFrom('fz-public', GATEWAY, 'fz-other') },
  );
  return fc.tuple(target, fc.constantFrom<Calm>(1, 8)).chain(([token, calm]) => caller(token).chain((id) =>
    fc.tuple(envelopeArb(calm), presentation(id, calm), presentedField('token', world, token, calm), hintField(calm), strayServiceFields(calm), junkFields(calm))
      .map(([envelope, who, ...fields]) => assemble('introspection', `introspect ${token.name} as ${id}${tag(calm)}`, envelope, who, fields))));
}

const REQUESTED_GOOD = [TOKEN_TYPES.accessToken, TOKEN_TYPES.refreshToken];
const AUDIENCES = ['orders-service', 'https://api.fz.example', 'urn:fz:api', 'fz-rs'];

/**
 * Token-exchange requests: mostly by the gateway the policy permits, with every kind of subject
 * token and type, sometimes an actor token (delegation), requested_token_type, audience and scope,
 * each in any state; now and then a parameter of another grant or another grant_type.
 */
export function exchangeRequestArb(world: TokenWorld): fc.Arbitrary<RequestSpec> {
  const subject = presentedTarget(world, { access_token: 6, refresh_token: 3, id_token: 2, partner_jwt: 3, inert: 3 });
  const actor = presentedTarget(world, { access_token: 5, refresh_token: 1, id_token: 1, partner_jwt: 2, inert: 2 });
  const caller = fc.oneof(
    { weight: 12, arbitrary: fc.constant(GATEWAY) },
    { weight: 3, arbitrary: fc.constantFrom('fz-other', 'fz-conf', 'fz-public', 'fz-rs') },
  );
  return fc.tuple(subject, caller, fc.constantFrom<Calm>(1, 8)).chain(([token, id, calm]) => {
    const actorFields = actor.chain((acting): fc.Arbitrary<FieldSpec[]> => fc.oneof(
      { weight: 6 * calm, arbitrary: fc.constant<FieldSpec[]>([]) },
      { weight: 3 * calm, arbitrary: fc.tuple(presentedField('actor_token', world, acting, calm), tokenTypeField('actor_token_type', acting, calm)).map((parts) => parts.flat()) },
      { weight: 1, arbitrary: fc.oneof(presentedField('actor_token', world, acting, calm), tokenTypeField('actor_token_type', acting, calm)) },
    ));
    return fc.tuple(
      envelopeArb(calm),
      presentation(id, calm),
      grantTypeField(TOKEN_EXCHANGE_GRANT_TYPE, calm),
      presentedField('subject_token', world, token, calm),
      tokenTypeField('subject_token_type', token, calm),
      actorFields,
      parameter('requested_token_type', fc.constantFrom(...REQUESTED_GOOD), fc.oneof(fc.constantFrom(TOKEN_TYPES.idToken, TOKEN_TYPES.jwt), fc.constantFrom(...HOSTILE_TOKEN_TYPES)), 256, { good: 15, absent: 70 * calm, bad: 10 }),
      parameter('audience', fc.constantFrom(...AUDIENCES), adversarialString(30), 2048, { good: 15, absent: 70 * calm, bad: 8 }),
      scopeField(['api:read', 'api:write'], calm),
      strayGrantField(world.artefacts, calm),
      junkFields(calm),
    ).map(([envelope, who, ...fields]) => assemble('token', `exchange ${token.name} as ${id}${tag(calm)}`, envelope, who, fields));
  });
}

/**
 * Revocations, introspections and exchanges interleaved: later requests meet what earlier
 * revocations did. Revocations are the rarer kind, so the live tokens die over hundreds of runs.
 */
export function tokenServiceRequestArb(world: TokenWorld): fc.Arbitrary<RequestSpec> {
  return fc.oneof(
    { weight: 1, arbitrary: revocationRequestArb(world) },
    { weight: 2, arbitrary: introspectionRequestArb(world) },
    { weight: 2, arbitrary: exchangeRequestArb(world) },
  );
}
