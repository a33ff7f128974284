// spec/ci/jest-environment.spec.ts
// The test environment every spec runs in (spec/helpers/jest-environment.js), in a jest run of its
// own on throwaway files: a file that blocks its worker's event loop for good (as the Node 20
// key-generation deadlock did) fails with the watchdog's message while the other files pass and
// the run ends; a file that leaves a server listening is named.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

describe('spec/helpers/jest-environment.js', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'jest-environment-'));
    writeFileSync(join(dir, 'stall.test.js'), "it('blocks the event loop for good', () => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); });\n");
    writeFileSync(join(dir, 'fine.test.js'), "it('passes', () => expect(1 + 1).toBe(2));\n");
    writeFileSync(join(dir, 'leak.test.js'), "const { createServer } = require('node:net');\nit('leaves a server listening', (done) => { createServer().listen(0, '127.0.0.1', done); });\n");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the watchdog fails the stalled file with its name and the run goes on; leftover servers are reported', async () => {
    const config = { rootDir: dir, testEnvironment: join(ROOT, 'spec', 'helpers', 'jest-environment.js'), testMatch: ['**/*.test.js'], transform: {}, cacheDirectory: join(dir, 'cache'), maxWorkers: 2, forceExit: true };
    const env: NodeJS.ProcessEnv = { ...process.env, JEST_WATCHDOG_SECONDS: '3' };
    delete env.NODE_OPTIONS;
    delete env.JEST_WORKER_ID;
    const started = Date.now();
    const { status, output } = await new Promise<{ status: number | null; output: string }>((resolve, reject) => {
      // Asynchronous: this worker's own watchdog must see its event loop turning meanwhile.
      const child = spawn(process.execPath, [join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '--ci', '--config', JSON.stringify(config)], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
      let text = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => { text += chunk; });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => { text += chunk; });
      child.on('error', reject);
      child.on('close', (code) => resolve({ status: code, output: text }));
    });
    expect(Date.now() - started).toBeLessThan(100_000);
    expect({ status, output }).toEqual({ status: 1, output: expect.stringMatching(/\[jest watchdog\] worker pid \d+: the event loop has not turned for \d+ s while running stall\.test\.js/) });
    expect(output).toMatch(/FAIL (\.\/)?stall\.test\.js[\s\S]*terminated by another process: signal=SIGKILL/);
    expect(output).toMatch(/PASS (\.\/)?fine\.test\.js/);
    expect(output).toMatch(/PASS (\.\/)?leak\.test\.js/);
    expect(output).toContain('[open handles] leak.test.js left open: TCPServerWrap ×1');
    expect(output).not.toMatch(/\[open handles\] fine\.test\.js/);
  }, 130_000);
});
