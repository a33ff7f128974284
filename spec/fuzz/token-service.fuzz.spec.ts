// spec/fuzz/token-service.fuzz.spec.ts
// Property-based fuzzing of the issue 14 additions: POST /connect/revocation (RFC 7009),
// POST /connect/introspection (RFC 7662) and the token-exchange grant (RFC 8693) at
// POST /connect/token. Never a 5xx; the RFC 6749 §5.2 envelope with no-store for every error,
// its description never repeating caller text; revocation answers 200 with an empty body or an
// error, and writes exactly the revocation the oracle expects; introspection answers
// { "active": false } or the members of a live token, and those only to the allowed resource
// server; an exchange issues a token only to the client the policy permits, for a live token it
// may present. Revocations change what later requests see: the oracle's model follows them, and
// afterwards the store must agree with the model (nothing revoked that was not asked for, nothing
// stored lost).
import request from 'supertest';
import { TOKEN_EXCHANGE_GRANT_TYPE, TOKEN_TYPES } from '../../lib';
import { basic } from '../helpers/create-app';
import { exchangeRequestArb, introspectionRequestArb, rawRequestArb, tokenServiceRequestArb } from './support/arbitraries';
import { describeTally, exchange, loggedErrors, newTally, type Tally } from './support/checks';
import { expectCoverage, fuzzRuns, fuzzTimeout, report, runFuzz } from './support/fuzz-run';
import { CONF_SECRET, DEVICE_GRANT, GATEWAY, GW_SECRET, REDIRECT, RS_SECRET, VERIFIER, createFuzzHarness, type Artefact, type FuzzHarness } from './support/harness';
import { isLive } from './support/tokens';

const FILE = 'spec/fuzz/token-service.fuzz.spec.ts';
const INTROSPECTION_RUNS = fuzzRuns(1500);
const EXCHANGE_RUNS = fuzzRuns(2000);
const MIXED_RUNS = fuzzRuns(2000);
const RAW_RUNS = fuzzRuns(800);

describe('fuzzing revocation, introspection and token exchange', () => {
  let h: FuzzHarness;

  beforeAll(async () => {
    h = await createFuzzHarness();
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  const verdicts = (tally: Tally, kind: string) => tally.verdicts.get(kind) ?? 0;
  const errors = (tally: Tally, code: string) => tally.errors.get(code) ?? 0;

  // Introspection and exchange write nothing: they run first, while every live token is live.
  const INTROSPECTION_TEST = 'introspection of every kind of token, by every caller, damaged every way: inactive or the live token\'s members, only to the allowed caller';
  it(INTROSPECTION_TEST, async () => {
    const tally = newTally();
    const outcome = await runFuzz({
      testName: INTROSPECTION_TEST,
      file: FILE,
      runs: INTROSPECTION_RUNS,
      arbitrary: introspectionRequestArb(h),
      check: (spec, report) => exchange(h, spec, report, { rateLimited: false }, tally),
    });
    report(outcome, describeTally(tally));
    expect(loggedErrors(h)).toEqual([]);
    expectCoverage(outcome, describeTally(tally), {
      'an active access token': verdicts(tally, 'introspection active access_token') > 0,
      'an active refresh token': verdicts(tally, 'introspection active refresh_token') > 0,
      'an unauthorized_client answer': errors(tally, 'unauthorized_client') > 0,
      'a 401 answer': (tally.statuses.get(401) ?? 0) > 0,
      'a 413 answer': (tally.statuses.get(413) ?? 0) > 0,
    });
  }, fuzzTimeout(INTROSPECTION_RUNS));

  const EXCHANGE_TEST = 'token exchange with every subject and actor token and type, damaged every way: a token only when the policy permits a live token';
  it(EXCHANGE_TEST, async () => {
    const tally = newTally();
    const outcome = await runFuzz({
      testName: EXCHANGE_TEST,
      file: FILE,
      runs: EXCHANGE_RUNS,
      arbitrary: exchangeRequestArb(h),
      check: (spec, report) => exchange(h, spec, report, { rateLimited: false }, tally),
    });
    report(outcome, describeTally(tally));
    expect(loggedErrors(h)).toEqual([]);
    expectCoverage(outcome, describeTally(tally), {
      'a valid exchange': verdicts(tally, 'exchange') > 0,
      'a valid delegation (act)': verdicts(tally, 'exchange with act') > 0,
      'an invalid_request answer': errors(tally, 'invalid_request') > 0,
      'an invalid_scope answer': errors(tally, 'invalid_scope') > 0,
      'an unauthorized_client answer': errors(tally, 'unauthorized_client') > 0,
    });
  }, fuzzTimeout(EXCHANGE_RUNS));

  const MIXED_TEST = 'revocations interleaved with introspections and exchanges: exactly the asked-for revocation is written, and later requests see it';
  it(MIXED_TEST, async () => {
    const tally = newTally();
    const outcome = await runFuzz({
      testName: MIXED_TEST,
      file: FILE,
      runs: MIXED_RUNS,
      arbitrary: tokenServiceRequestArb(h),
      check: (spec, report) => exchange(h, spec, report, { rateLimited: false }, tally),
    });
    report(outcome, describeTally(tally));
    expect(loggedErrors(h)).toEqual([]);
    expectCoverage(outcome, describeTally(tally), {
      'an access token revoked': verdicts(tally, 'revocation writing revokeAccessToken') > 0,
      'a grant revoked through its refresh token': verdicts(tally, 'revocation writing revokeGrant') > 0,
      'an unsupported_token_type answer (ID token)': errors(tally, 'unsupported_token_type') > 0,
      'an unauthorized_client answer': errors(tally, 'unauthorized_client') > 0,
      'a 200 revocation without a write': verdicts(tally, 'revocation') > verdicts(tally, 'revocation writing revokeAccessToken') + verdicts(tally, 'revocation writing revokeGrant'),
    });
  }, fuzzTimeout(MIXED_RUNS));

  const RAW_TEST = 'raw bodies, content types, methods, queries and Authorization headers at /revocation and /introspection: envelope, nothing written';
  it(RAW_TEST, async () => {
    const tally = newTally();
    const outcome = await runFuzz({
      testName: RAW_TEST,
      file: FILE,
      runs: RAW_RUNS,
      arbitrary: rawRequestArb(['revocation', 'introspection']),
      check: (spec, report) => exchange(h, spec, report, { rateLimited: false }, tally),
    });
    report(outcome, describeTally(tally));
    expect(loggedErrors(h)).toEqual([]);
    // Short runs (< 1000) skip the check; FUZZ_RUNS raises it.
    expectCoverage(outcome, describeTally(tally), { 'a 405 answer': (tally.statuses.get(405) ?? 0) > 0, 'a 400 answer': (tally.statuses.get(400) ?? 0) > 0 });
  }, fuzzTimeout(RAW_RUNS));

  describe('after the fuzzing', () => {
    const artefact = (name: string): Artefact => {
      const found = h.artefacts.find((a) => a.name === name);
      if (!found) throw new Error(`no artefact ${name}`);
      return found;
    };
    const conf = basic('fz-conf', CONF_SECRET);
    const token = (params: Record<string, string>) =>
      request(h.server).post('/connect/token').set('Authorization', conf).type('form').send(new URLSearchParams(params).toString());

    it('the store agrees with the model: every token the fuzzing did not revoke is still active, every revoked one inactive', async () => {
      const seen: Array<{ name: string; active: unknown }> = [];
      const expected: Array<{ name: string; active: unknown }> = [];
      for (const presented of h.tokens.tokens) {
        if (presented.kind !== 'access_token' && presented.kind !== 'refresh_token') continue;
        const res = await request(h.server).post('/connect/introspection').set('Authorization', basic('fz-rs', RS_SECRET)).type('form')
          .send(new URLSearchParams({ token: presented.value }).toString());
        expect(res.status).toBe(200);
        seen.push({ name: presented.name, active: res.body.active });
        expected.push({ name: presented.name, active: isLive(h.tokens, presented, h.clock()) });
      }
      expect(seen).toEqual(expected);
      // Not vacuous: the fuzzing did revoke tokens it had live at the start.
      if (MIXED_RUNS >= 1000) expect(h.tokens.revokedJtis.size).toBeGreaterThan(0);
    });

    it('tokens no request presented (bystanders) are all still active, and still exchangeable', async () => {
      for (const bystander of h.tokens.bystanders) {
        const res = await request(h.server).post('/connect/introspection').set('Authorization', basic('fz-rs', RS_SECRET)).type('form')
          .send(new URLSearchParams({ token: bystander.value }).toString());
        expect({ name: bystander.name, status: res.status, active: res.body.active, client_id: res.body.client_id }).toEqual({ name: bystander.name, status: 200, active: true, client_id: bystander.owner });
      }
      const at = h.tokens.bystanders.find((bystander) => bystander.name === 'bystander-at');
      const exchanged = await request(h.server).post('/connect/token').set('Authorization', basic(GATEWAY, GW_SECRET)).type('form')
        .send(new URLSearchParams({ grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: at?.value ?? '', subject_token_type: TOKEN_TYPES.accessToken }).toString());
      expect({ status: exchanged.status, issued: exchanged.body.issued_token_type }).toEqual({ status: 200, issued: TOKEN_TYPES.accessToken });
    });

    it('codes and device codes are untouched: the live ones still redeem; the live refresh token refreshes unless its grant was revoked', async () => {
      const code = artefact('code-live');
      const redeemed = await token({ grant_type: 'authorization_code', code: code.value, redirect_uri: REDIRECT, code_verifier: VERIFIER });
      expect(redeemed.status).toBe(200);
      const device = await token({ grant_type: DEVICE_GRANT, device_code: artefact('device-approved').value });
      expect(device.status).toBe(200);
      const live = artefact('rt-live');
      const refreshed = await token({ grant_type: 'refresh_token', refresh_token: live.value });
      const stillLive = !h.tokens.revokedGrants.has(live.grantId);
      expect({ status: refreshed.status, error: refreshed.body.error }).toEqual(stillLive ? { status: 200, error: undefined } : { status: 400, error: 'invalid_grant' });
    });
  });
});
