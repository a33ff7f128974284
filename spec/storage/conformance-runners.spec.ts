// spec/storage/conformance-runners.spec.ts
// The conformance kit under each runner a user may have (issue 17: under `node --test` it threw
// "describe is not defined"): node:test, jest and vitest, each running the plain JavaScript example
// of docs/conformance-kit.md exactly as it is in examples/conformance-kit/, against the package as
// `npm pack` ships it. Every example passes with a working adapter and fails with a broken one.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStorageConformance, type ConformanceTestApi } from '../../lib/testing';
import { createMemoryStorage } from '../../lib';
import { createPackedConsumer, PACKAGE_NAME, PACKAGE_ROOT } from '../helpers/consumer-project';

const EXAMPLES = join(PACKAGE_ROOT, 'examples', 'conformance-kit');
const EXAMPLE_FILES = ['node-test.test.mjs', 'jest.test.js', 'vitest.test.mjs'] as const;
type Example = (typeof EXAMPLE_FILES)[number];

/** What a runner reported: passed and failed tests, and its output for failure messages. */
interface Outcome {
  status: number | null;
  pass: number;
  fail: number;
  output: string;
}

/** How many tests the kit registers for one call with the examples' options (counted in-process). */
function registeredTests(): number {
  let count = 0;
  const recorder: ConformanceTestApi = { describe: (_name, body) => body(), it: () => void (count += 1), beforeEach: () => undefined, afterEach: () => undefined };
  runStorageConformance({ name: 'count', create: (clock) => createMemoryStorage({ clock }), test: recorder });
  return count;
}

describe('the conformance kit under node:test, jest and vitest (examples/conformance-kit, packed package)', () => {
  let dir: string;
  let project: string;
  const expected = registeredTests();

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kit-runners-'));
    project = createPackedConsumer(dir, ['jest', 'vitest']);
    // The examples in test/, their broken copies in broken/: vitest matches file filters as
    // substrings, so no file name may contain another's path.
    mkdirSync(join(project, 'test'));
    mkdirSync(join(project, 'broken'));
    for (const file of EXAMPLE_FILES) copyFileSync(join(EXAMPLES, file), join(project, 'test', file));
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const env = (): NodeJS.ProcessEnv => {
    const copy: NodeJS.ProcessEnv = { ...process.env };
    // Ours, not the child runner's: the kit reads JEST_WORKER_ID to tell jest without globals apart.
    delete copy.NODE_OPTIONS;
    delete copy.JEST_WORKER_ID;
    return copy;
  };
  // Asynchronous, so this worker's event loop keeps turning (the jest watchdog watches it).
  const node = (args: string[]): Promise<{ status: number | null; stdout: string; output: string }> => new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: project, env: env(), stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, output: `${stdout}\n${stderr}` }));
  });
  /** The JSON summary of jest (--json, on stdout) and vitest (--reporter=json, in a file): same field names. */
  const fromJson = (status: number | null, json: string, output: string): Outcome => {
    let summary: { numPassedTests?: number; numFailedTests?: number } = {};
    try {
      summary = JSON.parse(json) as typeof summary;
    } catch {
      // No summary (the runner failed before running anything): the counts stay NaN.
    }
    // The summary carries the failure messages (vitest prints them nowhere else with this reporter).
    return { status, pass: Number(summary.numPassedTests), fail: Number(summary.numFailedTests), output: `${output}\n${json}` };
  };

  const runners = {
    node: async (file: string): Promise<Outcome> => {
      const { status, stdout, output } = await node(['--test', '--test-reporter=tap', file]);
      return { status, pass: Number(/# pass (\d+)/.exec(stdout)?.[1]), fail: Number(/# fail (\d+)/.exec(stdout)?.[1]), output };
    },
    jest: async (file: string): Promise<Outcome> => {
      const { status, stdout, output } = await node([join('node_modules', 'jest', 'bin', 'jest.js'), '--ci', '--json', '--runTestsByPath', file]);
      return fromJson(status, stdout, output);
    },
    vitest: async (file: string, ...flags: string[]): Promise<Outcome> => {
      const report = join(project, 'vitest-report.json');
      rmSync(report, { force: true });
      const { status, output } = await node([join('node_modules', 'vitest', 'vitest.mjs'), 'run', '--reporter=json', `--outputFile=${report}`, ...flags, file]);
      return fromJson(status, existsSync(report) ? readFileSync(report, 'utf8') : '', output);
    },
  };
  const runnerOf: Record<Example, (path: string) => Promise<Outcome>> = { 'node-test.test.mjs': runners.node, 'jest.test.js': runners.jest, 'vitest.test.mjs': runners.vitest };

  const passes = (outcome: Outcome) => {
    if (outcome.status !== 0 || outcome.fail !== 0 || outcome.pass !== expected) throw new Error(`expected ${expected} passed tests, got ${outcome.pass} passed and ${outcome.fail} failed (exit ${outcome.status}):\n${outcome.output.slice(-4000)}`);
  };

  it.each(EXAMPLE_FILES)('%s passes under its runner, every test of the kit registered and run', async (file) => {
    expect(expected).toBeGreaterThan(100);
    passes(await runnerOf[file](`test/${file}`));
  }, 240_000);

  // The example with its adapter import swapped for one whose consume always answers true.
  const broken = (file: Example): string => {
    const source = readFileSync(join(EXAMPLES, file), 'utf8');
    const esm = "import { createMemoryStorage as createMyStorage } from 'express-token-endpoint';";
    const cjs = "const { createMemoryStorage: createMyStorage } = require('express-token-endpoint');";
    const swap = file.endsWith('.js')
      ? "const { createMemoryStorage } = require('express-token-endpoint');\nconst createMyStorage = (options) => ({ ...createMemoryStorage(options), consumeAuthorizationCode: async () => true });"
      : "import { createMemoryStorage } from 'express-token-endpoint';\nconst createMyStorage = (options) => ({ ...createMemoryStorage(options), consumeAuthorizationCode: async () => true });";
    const line = file.endsWith('.js') ? cjs : esm;
    expect(source).toContain(line);
    writeFileSync(join(project, 'broken', file), source.replace(line, swap));
    return `broken/${file}`;
  };

  it.each(EXAMPLE_FILES)('%s fails under its runner when the adapter breaks a promise (a code consumed twice)', async (file) => {
    const outcome = await runnerOf[file](broken(file));
    expect(outcome.status).not.toBe(0);
    expect(outcome.fail).toBeGreaterThan(0);
    expect(outcome.output).toMatch(/consumeAuthorizationCode/);
  }, 240_000);

  it('vitest with globals: the node:test example runs unchanged (the kit takes the globals)', async () => {
    passes(await runners.vitest('test/node-test.test.mjs', '--globals'));
  }, 240_000);

  it('vitest without globals and without `test`: the file fails with a message that names the fix', async () => {
    const outcome = await runners.vitest('test/node-test.test.mjs');
    expect(outcome.status).not.toBe(0);
    expect(outcome.output).toContain("vitest without globals: pass test: { describe, it, beforeEach, afterEach } imported from 'vitest'");
  }, 240_000);

  it('jest with injectGlobals: false and without `test`: the file fails with a message that names the fix', async () => {
    writeFileSync(join(project, 'jest.config.js'), 'module.exports = { injectGlobals: false };\n');
    try {
      const outcome = await runners.jest('test/jest.test.js');
      expect(outcome.status).not.toBe(0);
      expect(outcome.output).toContain("jest without globals (injectGlobals: false): pass test: { describe, it, beforeEach, afterEach } imported from '@jest/globals'");
    } finally {
      rmSync(join(project, 'jest.config.js'));
    }
  }, 240_000);

  it('vitest runs describe bodies after the file loaded: two kit calls in one file each register with their own functions', async () => {
    // The second call hands the kit a recorder that registers nothing; the first call's suite,
    // collected by vitest after both calls ran, must still register every test with vitest.
    writeFileSync(join(project, 'two-calls.test.mjs'), `
import { describe, it, beforeEach, afterEach } from 'vitest';
import { runStorageConformance } from '${PACKAGE_NAME}/testing';
import { createMemoryStorage } from '${PACKAGE_NAME}';
runStorageConformance({ name: 'first', create: (clock) => createMemoryStorage({ clock }), destroy: (s) => s.close(), test: { describe, it, beforeEach, afterEach } });
runStorageConformance({ name: 'second', create: (clock) => createMemoryStorage({ clock }), test: { describe: () => undefined, it: () => undefined, beforeEach: () => undefined, afterEach: () => undefined } });
`);
    passes(await runners.vitest('two-calls.test.mjs'));
  }, 240_000);

  it('node:test functions passed explicitly from CommonJS (mocha-style explicit wiring)', async () => {
    writeFileSync(join(project, 'kit-explicit.test.cjs'), `
const { describe, it, beforeEach, afterEach } = require('node:test');
const { runStorageConformance } = require('${PACKAGE_NAME}/testing');
const { createMemoryStorage } = require('${PACKAGE_NAME}');
runStorageConformance({ name: 'memory', create: (clock) => createMemoryStorage({ clock }), destroy: (s) => s.close(), test: { describe, it, beforeEach, afterEach } });
`);
    passes(await runners.node('kit-explicit.test.cjs'));
  }, 240_000);
});

describe('docs/conformance-kit.md shows the examples as they are', () => {
  it.each(EXAMPLE_FILES)('its code block for %s is that file of examples/conformance-kit', (file) => {
    const page = readFileSync(join(PACKAGE_ROOT, 'docs', 'conformance-kit.md'), 'utf8');
    const source = readFileSync(join(EXAMPLES, file), 'utf8');
    const blocks = [...page.matchAll(/```js\n([\s\S]*?)```/g)].map((match) => match[1]);
    const block = blocks.find((text) => text.startsWith(`// ${file} `));
    expect(block).toBe(source);
  });
});
