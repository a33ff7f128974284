// spec/testing/example-tests.spec.ts
// The jest tests under examples/ (examples/testing/*.test.ts, which docs/testing.md quotes) run
// against the built package, in a jest of their own (jest.examples.config.js): `npm run examples`
// only type-checks them, since its runner runs plain scripts.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

interface JestReport {
  success: boolean;
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  testResults: Array<{ name: string; status: string; message: string }>;
}

describe('the jest examples (examples/**/*.test.ts) against dist/', () => {
  it('all pass, none skipped', () => {
    if (!existsSync(join(ROOT, 'dist', 'testing', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does it in pretest).');
    let out: string;
    try {
      out = execFileSync(process.execPath, [join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '-c', 'jest.examples.config.js', '--ci', '--json'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      const { stdout, stderr } = error as { stdout?: string; stderr?: string };
      throw new Error(`the example tests failed:\n${stderr ?? ''}\n${stdout ?? ''}`);
    }
    const report = JSON.parse(out) as JestReport;
    expect(report.testResults.map((result) => [result.name.slice(ROOT.length + 1), result.status]).sort()).toEqual([
      ['examples/testing/own-router.test.ts', 'passed'],
      ['examples/testing/protected-route.test.ts', 'passed'],
    ]);
    expect({ success: report.success, failed: report.numFailedTests, skipped: report.numPendingTests }).toEqual({ success: true, failed: 0, skipped: 0 });
    expect(report.numPassedTests).toBeGreaterThanOrEqual(7);
  }, 120_000);
});
