// spec/fuzz/support/fuzz-run.ts
// Seeds, run counts and failure reports of the fuzz suites (fast-check).
//
// CI runs every property with a fixed seed and a bounded number of runs, so a red build is
// reproducible and the suite stays fast. FUZZ_SEED and FUZZ_RUNS override both for a longer
// local hunt (`npm run test:fuzz:long`); FUZZ_PATH replays one failing case of a property.
import fc from 'fast-check';

/** The seed CI uses; any 32-bit integer works. */
export const DEFAULT_SEED = 20260108;

function envInteger(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, got ${JSON.stringify(raw)}`);
  return value;
}

export const FUZZ_SEED = envInteger('FUZZ_SEED') ?? DEFAULT_SEED;
const RUNS_OVERRIDE = envInteger('FUZZ_RUNS');
const REPLAY_PATH = process.env.FUZZ_PATH?.trim() || undefined;

/** Runs of one property: FUZZ_RUNS when set, else the property's CI default. */
export function fuzzRuns(ciDefault: number): number {
  return RUNS_OVERRIDE ?? ciDefault;
}

/** A jest timeout that grows with the number of runs (a slow, shared machine: ~60 ms a request is plenty). */
export function fuzzTimeout(runs: number): number {
  return 60_000 + runs * 60;
}

/** What a property body reports about one input, for the failure message. */
export interface CaseReport {
  /** The request as sent, readable (method, path, headers, body). */
  readonly request: string;
  /** The response as received (status, headers, body), when there was one. */
  response?: string;
  /** What the oracle expected. */
  verdict?: string;
}

export interface FuzzOptions<T> {
  /** The jest test name (for the replay command). */
  readonly testName: string;
  /** The spec file, relative to the repo (for the replay command). */
  readonly file: string;
  readonly runs: number;
  readonly arbitrary: fc.Arbitrary<T>;
  /** Checks one input; throws on a violated property. Fills `report` as it goes. */
  readonly check: (input: T, report: { current?: CaseReport }) => Promise<void>;
}

export interface FuzzOutcome {
  readonly runs: number;
  readonly skipped: number;
}

/**
 * Runs a property and, on failure, throws an error that says how to replay it, what was sent and
 * received for the first failing input (the app is stateful, so the first failure is the most
 * faithful one) and for the shrunk one, and what the oracle expected.
 */
export async function runFuzz<T>(options: FuzzOptions<T>): Promise<FuzzOutcome> {
  let first: { report: CaseReport | undefined; error: unknown } | undefined;
  let last: { report: CaseReport | undefined; error: unknown } | undefined;
  const property = fc.asyncProperty(options.arbitrary, async (input) => {
    const holder: { current?: CaseReport } = {};
    try {
      await options.check(input, holder);
    } catch (error) {
      if (!fc.PreconditionFailure.isFailure(error)) {
        const failure = { report: holder.current, error };
        first ??= failure;
        last = failure;
      }
      throw error;
    }
  });
  const details = await fc.check(property, {
    seed: FUZZ_SEED,
    numRuns: options.runs,
    ...(REPLAY_PATH !== undefined && { path: REPLAY_PATH }),
    // Requests that would validly redeem a pre-minted artefact are skipped (fc.pre); they are rare.
    maxSkipsPerRun: 1000,
  });
  if (!details.failed) return { runs: details.numRuns, skipped: details.numSkips };

  const replay = `FUZZ_SEED=${details.seed} FUZZ_RUNS=${options.runs} npx jest ${options.file} -t ${JSON.stringify(options.testName)}`;
  const lines = [
    `Property failed after ${details.numRuns} run(s) (${details.numShrinks} shrink(s)); seed ${details.seed}, path ${details.counterexamplePath ?? '?'}.`,
    `Replay the whole run (same app state): ${replay}`,
    `Replay only the shrunk case: FUZZ_PATH=${JSON.stringify(details.counterexamplePath ?? '')} ${replay}`,
    '(The app keeps state between runs, e.g. device-poll intervals, so a lone path may behave differently.)',
    '',
    '--- first failing case ---',
    ...describeFailure(first),
  ];
  if (last && last !== first) lines.push('', '--- shrunk failing case ---', ...describeFailure(last));
  throw new Error(lines.join('\n'));
}

function describeFailure(failure: { report: CaseReport | undefined; error: unknown } | undefined): string[] {
  if (!failure) return ['(no report)'];
  const { report, error } = failure;
  const message = error instanceof Error ? error.message : String(error);
  return [
    `error: ${message}`,
    ...(report?.verdict ? [`oracle: ${report.verdict}`] : []),
    `request:\n${report?.request ?? '(not built)'}`,
    `response:\n${report?.response ?? '(none)'}`,
  ];
}

/**
 * Fails when a run was vacuous: a generator never reached what it aims at. Skipped for a
 * FUZZ_PATH replay (one case) and for runs too short to be sure of rare shapes.
 */
export function expectCoverage(outcome: FuzzOutcome, summary: string, reached: Readonly<Record<string, boolean>>): void {
  if (REPLAY_PATH !== undefined || outcome.runs < 1000) return;
  const missed = Object.keys(reached).filter((name) => !reached[name]);
  if (missed.length > 0) throw new Error(`The run never reached: ${missed.join(', ')}. Seen: ${summary}`);
}

/** With FUZZ_VERBOSE set, prints what a property run saw (to tune the generators). */
export function report(outcome: FuzzOutcome, summary: string): void {
  if (process.env.FUZZ_VERBOSE) console.log(`${outcome.runs} runs, ${outcome.skipped} skipped; ${summary}`);
}

/** Printable preview of a string: escapes control and non-ASCII characters, cuts long ones. */
export function preview(text: string, max = 600): string {
  const escaped = JSON.stringify(text.length > max ? text.slice(0, max) : text);
  return text.length > max ? `${escaped}… (${text.length} chars)` : escaped;
}
