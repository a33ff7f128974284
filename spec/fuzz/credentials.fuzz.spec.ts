// spec/fuzz/credentials.fuzz.spec.ts
// Fuzzing JWT client assertions (RFC 7523) and DPoP proofs (RFC 9449): valid ones mutated every
// way — header and claim values swapped for hostile ones, segments damaged, keys mismatched —
// must never answer 5xx, always the RFC envelope with no-store, and only an intact credential works.
import { randomUUID, sign, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import request from 'supertest';
import type { ClientJwk, MemoryClientDefinition } from '../../lib';
import { createCodeTestApp, ISSUER } from '../helpers/create-app';
import { keyPair } from '../helpers/keys';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = Number(process.env.FUZZ_SEED ?? 20261206);
const HOST = 'id.example.test';
const ec = keyPair('ec', { namedCurve: 'P-256' });
const other = keyPair('ec', { namedCurve: 'P-256' });
const jwk = ec.publicKey.export({ format: 'jwk' }) as ClientJwk;
const CLIENTS: MemoryClientDefinition[] = [
  { client_id: 'pk', token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'ES256', jwks: { keys: [{ ...jwk, kid: 'k1' }] }, grant_types: ['client_credentials'], scope: 'api:read' },
];

const HOSTILE: readonly unknown[] = ['', 'none', 'HS256', 'RS256', null, 0, -1, 1e20, true, [], {}, { sub: 'x' }, '__proto__', 'x'.repeat(3000), 'pk', 'client:pk', ISSUER, `${ISSUER}/connect/token`];

/** Mutations of a header or claims object: drop a member, set it to a hostile value, add a hostile member. */
const mutation = (names: readonly string[]) => fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), name: fc.constantFrom(...names) }),
  fc.record({ kind: fc.constant('set' as const), name: fc.constantFrom(...names, 'crit', 'jku', 'x5u', 'b64'), value: fc.constantFrom(...HOSTILE) }),
);
type Mutation = { kind: 'drop'; name: string } | { kind: 'set'; name: string; value: unknown };

function apply(target: Record<string, unknown>, mutations: readonly Mutation[]): Record<string, unknown> {
  const out = { ...target };
  for (const m of mutations) {
    if (m.kind === 'drop') delete out[m.name];
    else out[m.name] = m.value;
  }
  return out;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Signs header.claims with `key` as ES256 by hand (not with jsonwebtoken, the verifier under test), so hostile members survive. */
function rawSign(header: Record<string, unknown>, claims: Record<string, unknown>, key: KeyObject): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

const damage = fc.constantFrom('none', 'drop-signature', 'flip-payload', 'other-key', 'truncate');
function damaged(token: string, how: string): string {
  const [h, p, s] = token.split('.');
  if (how === 'drop-signature') return `${h}.${p}.`;
  if (how === 'flip-payload') return `${h}.${p.slice(0, -2)}AA.${s}`;
  if (how === 'truncate') return token.slice(0, Math.max(0, token.length - 10));
  return token;
}

const SKEW = 30;
const AUDIENCES = [ISSUER, `${ISSUER}/connect/token`];
const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const goodJti = (value: unknown, used: Set<string>): boolean => typeof value === 'string' && value.length > 0 && value.length <= 256 && !used.has(value);

/** Whether a (possibly mutated) client assertion must authenticate (README: JWT client authentication). */
function assertionIsValid(header: Record<string, unknown>, claims: Record<string, unknown>, how: string, now: number, used: Set<string>): boolean {
  // Without a kid, a client with exactly one key (this one) is verified with it.
  if (how !== 'none' || header.alg !== 'ES256' || (header.kid !== 'k1' && header.kid !== undefined) || 'crit' in header) return false;
  if (claims.iss !== 'pk' || claims.sub !== 'pk') return false;
  const aud = claims.aud;
  if (!(typeof aud === 'string' ? AUDIENCES.includes(aud) : Array.isArray(aud) && aud.some((a) => AUDIENCES.includes(a as string)))) return false;
  if (!isNumber(claims.exp) || claims.exp <= now - SKEW || claims.exp - now > 300 + SKEW) return false;
  if (claims.iat !== undefined && (!isNumber(claims.iat) || claims.iat > now + SKEW)) return false;
  if (claims.nbf !== undefined && (!isNumber(claims.nbf) || claims.nbf > now + SKEW)) return false;
  return goodJti(claims.jti, used);
}

/** Whether a (possibly mutated) DPoP proof must bind the token (README: DPoP). */
function proofIsValid(header: Record<string, unknown>, claims: Record<string, unknown>, how: string, now: number, used: Set<string>): boolean {
  if (how !== 'none' || header.alg !== 'ES256' || header.typ !== 'dpop+jwt' || header.jwk !== jwk || 'crit' in header) return false;
  if (claims.htm !== 'POST' || claims.htu !== `http://${HOST}/connect/token`) return false;
  if (!isNumber(claims.iat) || claims.iat < now - 60 || claims.iat > now + 5) return false;
  return goodJti(claims.jti, used);
}

function checkAnswer(res: request.Response): void {
  if (res.status >= 500) throw new Error(`answered ${res.status}: ${res.text}`);
  if (res.headers['cache-control'] !== 'no-store') throw new Error('no no-store');
  if (res.status !== 200) {
    if (typeof res.body.error !== 'string') throw new Error(`no error member: ${res.text}`);
    if (!['invalid_request', 'invalid_client', 'invalid_dpop_proof'].includes(res.body.error)) throw new Error(`unexpected error ${res.body.error}`);
  }
}

describe('fuzzing JWT client assertions and DPoP proofs', () => {
  it('mutated client assertions: never 5xx, the envelope, and a token only for a valid one', async () => {
    const { app, clock } = createCodeTestApp({}, CLIENTS);
    const usedAssertionJtis = new Set<string>();
    await fc.assert(fc.asyncProperty(fc.array(mutation(['alg', 'kid', 'typ']), { maxLength: 2 }), fc.array(mutation(['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti']), { maxLength: 3 }), damage, async (headerMutations, claimMutations, how) => {
      const now = Math.floor(clock() / 1000);
      const header = apply({ alg: 'ES256', kid: 'k1', typ: 'JWT' }, headerMutations);
      const claims = apply({ iss: 'pk', sub: 'pk', aud: ISSUER, iat: now, exp: now + 60, jti: randomUUID() }, claimMutations);
      const token = damaged(rawSign(header, claims, how === 'other-key' ? other.privateKey : ec.privateKey), how);
      const res = await request(app).post('/connect/token').type('form')
        .send(new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: token }).toString());
      checkAnswer(res);
      const valid = assertionIsValid(header, claims, how, now, usedAssertionJtis);
      if (valid !== (res.status === 200)) throw new Error(`valid=${valid} but status ${res.status} ${res.text}`);
      // A jti the server accepted (the assertion verified) is used from now on.
      if (res.status === 200) usedAssertionJtis.add(claims.jti as string);
    }), { numRuns: RUNS, seed: SEED });
  });

  it('mutated DPoP proofs: never 5xx, the envelope, and a bound token only for a valid one', async () => {
    const usedProofJtis = new Set<string>();
    const { app, clock } = createCodeTestApp({}, [{ client_id: 'svc', client_secret: 'svc-secret-0123456789abcdef', grant_types: ['client_credentials'], scope: 'api:read' }]);
    await fc.assert(fc.asyncProperty(fc.array(mutation(['alg', 'typ', 'jwk']), { maxLength: 2 }), fc.array(mutation(['htm', 'htu', 'iat', 'jti']), { maxLength: 3 }), damage, async (headerMutations, claimMutations, how) => {
      const now = Math.floor(clock() / 1000);
      const header = apply({ alg: 'ES256', typ: 'dpop+jwt', jwk }, headerMutations);
      const claims = apply({ htm: 'POST', htu: `http://${HOST}/connect/token`, iat: now, jti: randomUUID() }, claimMutations);
      const token = damaged(rawSign(header, claims, how === 'other-key' ? other.privateKey : ec.privateKey), how);
      const res = await request(app).post('/connect/token').set('Host', HOST).set('DPoP', token)
        .set('Authorization', `Basic ${Buffer.from('svc:svc-secret-0123456789abcdef').toString('base64')}`).type('form').send('grant_type=client_credentials');
      checkAnswer(res);
      const valid = proofIsValid(header, claims, how, now, usedProofJtis);
      if (valid !== (res.status === 200 && res.body.token_type === 'DPoP')) throw new Error(`valid=${valid} but status ${res.status} ${res.text}`);
      if (valid) usedProofJtis.add(claims.jti as string);
    }), { numRuns: RUNS, seed: SEED });
  });
});
