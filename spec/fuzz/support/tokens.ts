// spec/fuzz/support/tokens.ts
// The tokens a fuzzed request may present to the revocation and introspection endpoints and to a
// token exchange, and the model of which of them are live.
//
// Every token the harness minted through the real flows (access, ID and refresh tokens of several
// clients, in live, rotated and revoked families), JWTs of the trusted partner issuer, and hostile
// ones: forged signatures, `alg: none`, HS256 with our public key, tampered payloads, odd `kid`s,
// tokens signed with our own key but expired, of another issuer or missing claims. The model is
// the set of revoked `jti`s and grant ids; it follows the store's recorded revocation writes (every
// one of which the checks have first matched against what the oracle allowed), so the oracle can
// say what any later request must see.
import { createHmac, sign, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { TOKEN_TYPES } from '../../../lib';
import { ISSUER } from '../../helpers/create-app';
import { keyPair, rsaKey } from '../../helpers/keys';

/** The trusted issuer of the token-exchange grant in the fuzz app (ES256 key `p1`). */
export const PARTNER_ISSUER = 'https://partner.fz.example';
export const PARTNER_KID = 'p1';
// keyPair, not generateKeyPairSync's KeyObjects: see spec/helpers/keys.ts (a Node 20 deadlock).
const partnerKeys = keyPair('ec', { namedCurve: 'P-256' });
export const PARTNER_PUBLIC_KEY: KeyObject = partnerKeys.publicKey;

/** What a presented token verifies as at this server (`inert`: as nothing). */
export type PresentedKind = 'access_token' | 'refresh_token' | 'id_token' | 'partner_jwt' | 'inert';

export interface PresentedToken {
  readonly name: string;
  readonly kind: PresentedKind;
  readonly value: string;
  /** The client it was issued to (access and refresh tokens), or its `aud` (ID tokens). */
  readonly owner?: string;
  /** The grant it belongs to (refresh tokens, and access tokens of a user grant). */
  readonly grantId?: string;
  /** Access tokens. */
  readonly jti?: string;
  /** Seconds since the epoch (JWTs). */
  readonly exp?: number;
  /** The verified payload (JWTs) or the stored facts (refresh tokens: sub, client_id, scope). */
  readonly claims: Readonly<Record<string, unknown>>;
  /** Refresh tokens: already rotated (consumed). */
  readonly consumed?: boolean;
}

/** Which presented tokens are revoked: the store's revocation list and grant marks, as the checks saw them written. */
export interface TokenModel {
  readonly tokens: readonly PresentedToken[];
  /** Live tokens no generator presents: whatever the fuzzing does, they must stay live. */
  readonly bystanders: readonly PresentedToken[];
  readonly revokedJtis: Set<string>;
  readonly revokedGrants: Set<string>;
}

// ---------------------------------------------------------------------------------------------
// Matching a presented value to a known token

const JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * The three segments' bytes. base64url decoders ignore the unused low bits of the last character,
 * so two strings can carry the same JWS (a mangled last character may still verify): the oracle
 * compares what a verifier compares, the decoded bytes.
 */
function jwsBytes(value: string): string | undefined {
  if (!JWS.test(value)) return undefined;
  return value.split('.').map((segment) => Buffer.from(segment, 'base64url').toString('hex')).join('.');
}

/** The known token a presented value is (exactly, or as the same JWS bytes), if any. */
export function findPresented(model: TokenModel, value: string): PresentedToken | undefined {
  const exact = model.tokens.find((token) => token.value === value);
  if (exact) return exact;
  const bytes = jwsBytes(value);
  if (bytes === undefined) return undefined;
  return model.tokens.find((token) => token.kind !== 'inert' && jwsBytes(token.value) === bytes);
}

/** RFC 7009/7662 endpoints and RFC 8693 tell our JWTs from refresh tokens by shape (two dots). */
export function looksLikeJwt(value: string): boolean {
  return value.split('.').length === 3;
}

/** Live at `nowMs`: not expired, its jti not on the revocation list, its grant not revoked, not rotated. */
export function isLive(model: TokenModel, token: PresentedToken, nowMs: number): boolean {
  if (token.exp !== undefined && token.exp <= Math.floor(nowMs / 1000)) return false;
  if (token.jti !== undefined && model.revokedJtis.has(token.jti)) return false;
  // ID tokens carry grant_id too: a revoked grant's ID token is no longer valid input.
  if (token.grantId !== undefined && model.revokedGrants.has(token.grantId)) return false;
  return token.consumed !== true;
}

// ---------------------------------------------------------------------------------------------
// Building the tokens

export function decodePayload(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

const b64url = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8').toString('base64url');

/** A JWT minted through the real flows, as the harness found it. */
export interface MintedJwt {
  readonly name: string;
  readonly kind: 'access_token' | 'id_token';
  readonly value: string;
}

export function presentedJwt(minted: MintedJwt): PresentedToken {
  const claims = decodePayload(minted.value);
  const grantId = typeof claims.grant_id === 'string' ? claims.grant_id : undefined;
  if (minted.kind === 'access_token') {
    return { name: minted.name, kind: 'access_token', value: minted.value, owner: String(claims.client_id), grantId, jti: String(claims.jti), exp: Number(claims.exp), claims };
  }
  return { name: minted.name, kind: 'id_token', value: minted.value, owner: String(claims.aud), grantId, exp: Number(claims.exp), claims };
}

/**
 * JWTs of the partner (valid ones verify as `urn:…:jwt`; the others are inert) and hostile JWTs
 * built from one of our access tokens. `nowSeconds` is the router's clock.
 */
export function craftedTokens(template: string, nowSeconds: number): PresentedToken[] {
  const ours = rsaKey().privateKey;
  const stranger = keyPair('rsa', { modulusLength: 2048 }).privateKey;
  const otherEc = keyPair('ec', { namedCurve: 'P-256' }).privateKey;
  const [header, payload, signature] = template.split('.');
  const claims = decodePayload(template);
  const atHeader = { alg: 'RS256', typ: 'at+jwt', kid: 'test-key' };
  const live = { iat: nowSeconds, nbf: nowSeconds, exp: nowSeconds + 3600 };

  // Signed by hand: jsonwebtoken would refuse the malformed claims some of these carry.
  const rs = (body: Record<string, unknown>, key: KeyObject, head: Record<string, unknown> = atHeader) => {
    const input = `${b64url(head)}.${b64url(body)}`;
    return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
  };
  const partner = (body: Record<string, unknown>, key: KeyObject = partnerKeys.privateKey, kid = PARTNER_KID, alg: jwt.Algorithm = 'ES256') =>
    jwt.sign({ iss: PARTNER_ISSUER, aud: ISSUER, iat: nowSeconds, exp: nowSeconds + 600, ...body }, key, { algorithm: alg, header: { alg, typ: 'JWT', kid } });
  const hsInput = `${b64url({ alg: 'HS256', typ: 'at+jwt', kid: 'test-key' })}.${payload}`;
  const hsSigned = (secret: string) => `${hsInput}.${createHmac('sha256', secret).update(hsInput).digest('base64url')}`;
  const publicPem = rsaKey().publicKey.export({ format: 'pem', type: 'spki' }).toString();

  const out: PresentedToken[] = [];
  const validPartner = (name: string, body: Record<string, unknown>) => {
    const value = partner(body);
    out.push({ name, kind: 'partner_jwt', value, exp: nowSeconds + 600, claims: decodePayload(value) });
  };
  validPartner('partner-user', { sub: 'partner-user-7' });
  validPartner('partner-may-act-gw', { sub: 'partner-user-8', may_act: { sub: 'fz-gw' } });
  validPartner('partner-may-act-other', { sub: 'partner-user-9', may_act: { sub: 'someone-else' } });
  validPartner('partner-client-level', { sub: 'client:partner-app' });

  const inert = (name: string, value: string) => out.push({ name, kind: 'inert', value, claims: {} });
  // Partner JWTs that must not verify.
  inert('partner-wrong-aud', partner({ sub: 'partner-user-7', aud: 'https://elsewhere.example' }));
  inert('partner-expired', partner({ sub: 'partner-user-7', iat: nowSeconds - 7200, exp: nowSeconds - 3600 }));
  inert('partner-not-yet', partner({ sub: 'partner-user-7', nbf: nowSeconds + 3600 }));
  inert('partner-unknown-kid', partner({ sub: 'partner-user-7' }, partnerKeys.privateKey, 'p2'));
  inert('partner-other-key', partner({ sub: 'partner-user-7' }, otherEc));
  inert('partner-rs256', partner({ sub: 'partner-user-7' }, stranger, PARTNER_KID, 'RS256'));
  inert('partner-no-sub', partner({}));
  inert('partner-unknown-iss', partner({ sub: 'partner-user-7', iss: 'https://unknown.example' }));
  inert('partner-no-exp', jwt.sign({ iss: PARTNER_ISSUER, aud: ISSUER, sub: 'partner-user-7' }, partnerKeys.privateKey, { algorithm: 'ES256', header: { alg: 'ES256', kid: PARTNER_KID } }));

  // Forged or broken versions of our access token.
  inert('alg-none', `${b64url({ alg: 'none', typ: 'at+jwt', kid: 'test-key' })}.${payload}.`);
  inert('alg-none-signed', `${b64url({ alg: 'none', typ: 'at+jwt', kid: 'test-key' })}.${payload}.${signature}`);
  inert('hs256-with-public-key', hsSigned(publicPem));
  inert('stranger-key-our-kid', rs({ ...claims }, stranger));
  inert('stranger-key-other-kid', rs({ ...claims }, stranger, { ...atHeader, kid: 'other' }));
  inert('kid-proto', rs({ ...claims }, stranger, { ...atHeader, kid: '__proto__' }));
  inert('kid-constructor', rs({ ...claims }, stranger, { ...atHeader, kid: 'constructor' }));
  inert('no-kid', rs({ ...claims }, stranger, { alg: 'RS256', typ: 'at+jwt' }));
  inert('tampered-payload', `${header}.${b64url({ ...claims, client_id: 'fz-gw', scope: 'api:read api:write' })}.${signature}`);
  inert('swapped-header', `${b64url({ alg: 'RS256', typ: 'JWT', kid: 'test-key' })}.${payload}.${signature}`);
  inert('header-not-json', `${b64url('not json')}.${payload}.${signature}`);
  inert('header-array', `${b64url([1, 2])}.${payload}.${signature}`);
  inert('payload-not-object', `${header}.${b64url('"a string"')}.${signature}`);
  inert('proto-payload', rs(JSON.parse('{"__proto__":{"admin":true},"sub":"x","client_id":"fz-conf","jti":"j","iss":"x"}') as Record<string, unknown>, stranger));
  inert('four-segments', `${template}.x`);
  inert('two-dots-only', '..');
  inert('dots-and-junk', 'a.b.c');
  inert('padded-segments', `${header}=.${payload}=.${signature}=`);
  // Signed with our own key, but not a live access token of ours.
  inert('ours-expired', rs({ ...claims, iat: nowSeconds - 7200, nbf: nowSeconds - 7200, exp: nowSeconds - 3600, jti: 'expired-jti' }, ours));
  inert('ours-not-yet-valid', rs({ ...claims, ...live, nbf: nowSeconds + 3600, jti: 'future-jti' }, ours));
  inert('ours-other-issuer', rs({ ...claims, ...live, iss: 'https://other-issuer.example', jti: 'iss-jti' }, ours));
  inert('ours-no-jti', rs({ ...claims, ...live, jti: undefined }, ours));
  inert('ours-grant-id-number', rs({ ...claims, ...live, grant_id: 42, jti: 'num-jti' }, ours));
  inert('ours-exp-string', rs({ ...claims, iat: nowSeconds, exp: String(nowSeconds + 3600), jti: 'str-jti' }, ours));
  inert('ours-typ-missing', rs({ ...claims, ...live, jti: 'typ-jti' }, ours, { alg: 'RS256', kid: 'test-key' }));
  inert('ours-id-token-expired', rs({ iss: ISSUER, sub: 'user-1', aud: 'fz-conf', iat: nowSeconds - 7200, exp: nowSeconds - 3600 }, ours, { alg: 'RS256', typ: 'JWT', kid: 'test-key' }));
  // Not JWTs.
  inert('garbage', 'not-a-token');
  inert('at-cap', 'A'.repeat(8192));
  inert('unicode', 'tøken-€-😀');
  inert('proto', '__proto__');
  return out;
}

/** Token type URNs (RFC 8693 §3) and hostile look-alikes. */
export const TOKEN_TYPE_URNS: readonly string[] = Object.values(TOKEN_TYPES);
export const HOSTILE_TOKEN_TYPES: readonly string[] = [
  'urn:ietf:params:oauth:token-type:saml1', 'urn:ietf:params:oauth:token-type:saml2', `${TOKEN_TYPES.accessToken} `, ` ${TOKEN_TYPES.accessToken}`,
  TOKEN_TYPES.accessToken.toUpperCase(), 'access_token', 'refresh_token', 'Bearer', 'jwt', 'urn:ietf:params:oauth:token-type:',
  `${TOKEN_TYPES.idToken}\u0000`, 'urn:ietf:params:oauth:grant-type:token-exchange', '__proto__', 'constructor', 'toString', 'hasOwnProperty',
];
