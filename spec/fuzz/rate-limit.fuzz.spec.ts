// spec/fuzz/rate-limit.fuzz.spec.ts
// With rate limiting and the failure budgets (bruteForce) on, fuzzed requests (token, device
// authorization, revocation, introspection, token exchange) soon run into 429: those answers
// must keep the JSON envelope, carry Retry-After and no-store, write nothing, and never replace
// a parse error (security model rules M102, M104, N108, N109).
import fc from 'fast-check';
import { deviceAuthorizationRequestArb, tokenRequestArb, tokenServiceRequestArb } from './support/arbitraries';
import { describeTally, exchange, loggedErrors, newTally } from './support/checks';
import { expectCoverage, fuzzRuns, fuzzTimeout, report, runFuzz } from './support/fuzz-run';
import { createFuzzHarness, type FuzzHarness } from './support/harness';

const FILE = 'spec/fuzz/rate-limit.fuzz.spec.ts';
const RUNS = fuzzRuns(2000);

describe('fuzzing with rate limiting on', () => {
  let h: FuzzHarness;
  // The artefacts are minted through HTTP first; only then does the limiter count.
  let armed = false;

  beforeAll(async () => {
    // Both limiters on: the request rate limit (5 per minute and key) and the failure budgets
    // (their defaults), which never reset under the frozen test clock.
    h = await createFuzzHarness({ rateLimit: { limit: 5, windowMs: 60_000, skip: () => !armed }, bruteForce: undefined });
    armed = true;
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  const TEST = '429 answers keep the envelope, Retry-After and no-store, and write nothing';
  it(TEST, async () => {
    const tally = newTally();
    const outcome = await runFuzz({
      testName: TEST,
      file: FILE,
      runs: RUNS,
      arbitrary: fc.oneof(
        { weight: 3, arbitrary: tokenRequestArb(h.artefacts) },
        { weight: 1, arbitrary: deviceAuthorizationRequestArb() },
        { weight: 1, arbitrary: tokenServiceRequestArb(h) },
      ),
      check: (spec, report) => exchange(h, spec, report, { rateLimited: true }, tally),
    });
    report(outcome, describeTally(tally));
    expect(loggedErrors(h)).toEqual([]);
    expectCoverage(outcome, describeTally(tally), { 'a 429 answer': (tally.statuses.get(429) ?? 0) > 0 });
  }, fuzzTimeout(RUNS));
});
