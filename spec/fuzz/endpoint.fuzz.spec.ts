// spec/fuzz/endpoint.fuzz.spec.ts
// Property-based fuzzing of POST /connect/token and POST /connect/deviceauthorization (issue #8):
// never a 5xx, always the RFC 6749 §5.2 JSON envelope with no-store, a token only for a valid
// request, and no stored state changed by a rejected one (security model rules A, B, L, N). Afterwards the
// pre-minted code, refresh token and device codes must still redeem, exactly once.
import request from 'supertest';
import { basic } from '../helpers/create-app';
import { deviceAuthorizationRequestArb, rawRequestArb, tokenRequestArb } from './support/arbitraries';
import { describeTally, exchange, loggedErrors, newTally, type Tally } from './support/checks';
import { expectCoverage, fuzzRuns, fuzzTimeout, report, runFuzz } from './support/fuzz-run';
import { CONF_SECRET, DEVICE_GRANT, REDIRECT, VERIFIER, createFuzzHarness, type Artefact, type FuzzHarness } from './support/harness';

const FILE = 'spec/fuzz/endpoint.fuzz.spec.ts';
const TOKEN_RUNS = fuzzRuns(6000);
const DEVICE_RUNS = fuzzRuns(2000);
const RAW_RUNS = fuzzRuns(2500);

describe('fuzzing the token and device authorization endpoints', () => {
  let h: FuzzHarness;

  beforeAll(async () => {
    h = await createFuzzHarness();
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  const count = (tally: Tally, kind: string) => tally.verdicts.get(kind) ?? 0;

  const TOKEN_TEST = 'token requests of every grant, damaged every way: envelope, oracle, no writes on rejection';
  it(TOKEN_TEST, async () => {
    const tally = newTally();
    const outcome = await runFuzz({
      testName: TOKEN_TEST,
      file: FILE,
      runs: TOKEN_RUNS,
      arbitrary: tokenRequestArb(h.artefacts),
      check: (spec, report) => exchange(h, spec, report, { rateLimited: false }, tally),
    });
    report(outcome, describeTally(tally));
    expect(loggedErrors(h)).toEqual([]);
    // Not vacuous: valid requests got tokens, and rejections reached the grants' own checks.
    expectCoverage(outcome, describeTally(tally), {
      'a valid client_credentials request': count(tally, 'token') > 0,
      'a rejection by the grant of an owned artefact': count(tally, 'reject reaching an owned artefact') > 0,
      'an invalid_grant answer': (tally.errors.get('invalid_grant') ?? 0) > 0,
      'a 413 answer': (tally.statuses.get(413) ?? 0) > 0,
    });
  }, fuzzTimeout(TOKEN_RUNS));

  const DEVICE_TEST = 'device authorization requests: envelope, oracle, only the new device code is stored';
  it(DEVICE_TEST, async () => {
    const tally = newTally();
    const outcome = await runFuzz({
      testName: DEVICE_TEST,
      file: FILE,
      runs: DEVICE_RUNS,
      arbitrary: deviceAuthorizationRequestArb(),
      check: (spec, report) => exchange(h, spec, report, { rateLimited: false }, tally),
    });
    report(outcome, describeTally(tally));
    expect(loggedErrors(h)).toEqual([]);
    expectCoverage(outcome, describeTally(tally), {
      'a valid device authorization': count(tally, 'device-authorization') > 0,
      'an invalid_scope answer': (tally.errors.get('invalid_scope') ?? 0) > 0,
    });
  }, fuzzTimeout(DEVICE_RUNS));

  const RAW_TEST = 'raw bodies, content types, methods, queries and Authorization headers: envelope, no token, no writes';
  it(RAW_TEST, async () => {
    const tally = newTally();
    const outcome = await runFuzz({
      testName: RAW_TEST,
      file: FILE,
      runs: RAW_RUNS,
      arbitrary: rawRequestArb(),
      check: (spec, report) => exchange(h, spec, report, { rateLimited: false }, tally),
    });
    report(outcome, describeTally(tally));
    expect(loggedErrors(h)).toEqual([]);
    expectCoverage(outcome, describeTally(tally), { 'a 405 answer': (tally.statuses.get(405) ?? 0) > 0, 'a 401 answer': (tally.statuses.get(401) ?? 0) > 0 });
  }, fuzzTimeout(RAW_RUNS));

  describe('after the fuzzing', () => {
    const artefact = (name: string): Artefact => {
      const found = h.artefacts.find((a) => a.name === name);
      if (!found) throw new Error(`no artefact ${name}`);
      return found;
    };
    const token = (params: Record<string, string>, authorization?: string) => {
      const req = request(h.server).post('/connect/token').type('form');
      if (authorization) req.set('Authorization', authorization);
      return req.send(new URLSearchParams(params).toString());
    };
    const conf = basic('fz-conf', CONF_SECRET);
    const redeemCode = (code: Artefact, authorization?: string) => token(
      { grant_type: 'authorization_code', code: code.value, redirect_uri: REDIRECT, code_verifier: VERIFIER, ...(authorization ? {} : { client_id: code.owner }) },
      authorization,
    );
    const poll = (device: Artefact, authorization?: string) => token({ grant_type: DEVICE_GRANT, device_code: device.value, ...(authorization ? {} : { client_id: device.owner }) }, authorization);
    const refresh = (rt: Artefact) => token({ grant_type: 'refresh_token', refresh_token: rt.value }, conf);
    const expectInvalidGrant = (res: request.Response) => {
      expect({ status: res.status, error: res.body.error, access_token: res.body.access_token }).toEqual({ status: 400, error: 'invalid_grant', access_token: undefined });
    };

    it('every live code, refresh token and device code still redeems, exactly once; the others stay refused', async () => {
      const code = await redeemCode(artefact('code-live'), conf);
      expect(code.status).toBe(200);
      expect(code.body).toEqual(expect.objectContaining({ access_token: expect.any(String), refresh_token: expect.any(String), id_token: expect.any(String) }));
      expectInvalidGrant(await redeemCode(artefact('code-live'), conf));

      const publicCode = await redeemCode(artefact('code-live-public'));
      expect(publicCode.status).toBe(200);
      expect(publicCode.body.access_token).toEqual(expect.any(String));
      expectInvalidGrant(await redeemCode(artefact('code-live-public')));

      const rotated = await refresh(artefact('rt-live'));
      expect(rotated.status).toBe(200);
      expect(rotated.body.refresh_token).toEqual(expect.any(String));
      expect(rotated.body.refresh_token).not.toBe(artefact('rt-live').value);

      const device = await poll(artefact('device-approved'), conf);
      expect(device.status).toBe(200);
      expect(device.body.access_token).toEqual(expect.any(String));
      const devicePublic = await poll(artefact('device-approved-public'));
      expect(devicePublic.status).toBe(200);

      // Past the refresh retry window and past any slow_down interval (at most 60 s).
      h.clock.advance(61_000);
      expectInvalidGrant(await refresh(artefact('rt-live')));
      expectInvalidGrant(await poll(artefact('device-approved'), conf));
      expectInvalidGrant(await poll(artefact('device-approved-public')));

      expect((await poll(artefact('device-pending'), conf)).body.error).toBe('authorization_pending');
      expect((await poll(artefact('device-denied'), conf)).body.error).toBe('access_denied');
      expectInvalidGrant(await redeemCode(artefact('code-used'), conf));
      expectInvalidGrant(await refresh(artefact('rt-revoked')));
      expectInvalidGrant(await refresh(artefact('rt-rotated')));
    });
  });
});
