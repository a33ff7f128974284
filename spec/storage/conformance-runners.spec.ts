// spec/storage/conformance-runners.spec.ts
// The conformance kit outside jest (issue 17: under `node --test` it threw "describe is not
// defined"): run by Node's own test runner against the built package — with node:test picked up
// automatically, and with the test functions passed explicitly — it registers and passes every test.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConsumerProjects, PACKAGE_NAME } from '../helpers/consumer-project';

describe('the conformance kit under node --test', () => {
  let dir: string;
  let project: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kit-node-test-'));
    project = createConsumerProjects(dir).withDrivers;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (file: string, source: string): string => {
    writeFileSync(join(project, file), source);
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    try {
      return execFileSync(process.execPath, ['--test', '--test-reporter=tap', file], { cwd: project, env, encoding: 'utf8', stdio: 'pipe' });
    } catch (error) {
      const { stdout, stderr } = error as { stdout?: string; stderr?: string };
      throw new Error(`node --test ${file} failed:\n${(stdout ?? '').slice(-3000)}\n${stderr ?? ''}`);
    }
  };
  const counts = (tap: string) => ({ pass: Number(/# pass (\d+)/.exec(tap)?.[1]), fail: Number(/# fail (\d+)/.exec(tap)?.[1]) });

  it('finds node:test by itself (no describe/it globals) and passes', () => {
    const tap = run('kit.test.mjs', `
import { runStorageConformance } from '${PACKAGE_NAME}/testing';
import { createMemoryStorage } from '${PACKAGE_NAME}';
runStorageConformance({ name: 'memory', create: (clock) => createMemoryStorage({ clock }), destroy: (s) => s.close(), housekeeping: (s) => void s.sweep(), withLatency: false, concurrency: 10 });
`);
    const { pass, fail } = counts(tap);
    expect(fail).toBe(0);
    expect(pass).toBeGreaterThan(50);
  }, 120_000);

  it('takes the test functions explicitly (mocha, vitest without globals, node:test)', () => {
    const tap = run('kit-explicit.test.cjs', `
const { describe, it, beforeEach, afterEach } = require('node:test');
const { runStorageConformance } = require('${PACKAGE_NAME}/testing');
const { createMemoryStorage } = require('${PACKAGE_NAME}');
runStorageConformance({ name: 'memory', create: (clock) => createMemoryStorage({ clock }), destroy: (s) => s.close(), withLatency: false, concurrency: 10, test: { describe, it, beforeEach, afterEach } });
`);
    const { pass, fail } = counts(tap);
    expect(fail).toBe(0);
    expect(pass).toBeGreaterThan(50);
  }, 120_000);

  it('a broken adapter fails there too (the kit asserts, it does not just register)', () => {
    expect(() => run('kit-broken.test.mjs', `
import { runStorageConformance } from '${PACKAGE_NAME}/testing';
import { createMemoryStorage } from '${PACKAGE_NAME}';
runStorageConformance({ name: 'broken', create: (clock) => ({ ...createMemoryStorage({ clock }), consumeAuthorizationCode: async () => true }), withLatency: false, concurrency: 10 });
`)).toThrow(/node --test kit-broken\.test\.mjs failed[\s\S]*not ok/);
  }, 120_000);
});
