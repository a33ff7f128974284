// spec/interop.spec.ts
// Runs the openid-client interoperability test (a node:test file, since openid-client is ESM-only)
// in a child process, so `npm test` runs and counts it like any other test.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const INTEROP_FILE = join('spec', 'interop', 'openid-client.interop.mjs');
// Up to 40 s for the demo to start on a loaded machine, then ~12 s of tests: the two device-flow
// tests each wait openid-client's 5 s polling interval.
const CHILD_TIMEOUT_MS = 90_000;

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/** Runs `node --test <file>`; stdout and stderr are kept interleaved, in arrival order. */
function runNodeTest(file: string): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    // TAP explicitly: its "# pass N" summary is the same on every Node version (the default differs).
    // `timeout` sends SIGTERM to the runner if it hangs.
    const child = spawn(process.execPath, ['--test', '--test-reporter=tap', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], timeout: CHILD_TIMEOUT_MS });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, output }));
  });
}

describe('interoperability with openid-client (certified OpenID relying party)', () => {
  it('passes discovery, authorization code + PKCE, ID token checks for demo-spa and demo-web, the device grant for demo-tv, revocation and introspection (demo-api), token exchange (demo-gateway), private_key_jwt and client_secret_jwt (demo-jwt-service, demo-hmac-service), DPoP code flow + refresh + GET /api/me (demo-dpop-spa), oauth4webapi, and the README private_key_jwt script', async () => {
    const result = await runNodeTest(INTEROP_FILE);
    // The child's report is the useful failure message: which openid-client check failed and why.
    if (result.code !== 0) {
      throw new Error(`node --test ${INTEROP_FILE} exited with ${result.code ?? result.signal}:\n${result.output}`);
    }
    expect(result.code).toBe(0);
    expect(result.output).toMatch(/^# pass [1-9]\d*$/m);
    expect(result.output).toMatch(/^# fail 0$/m);
  }, CHILD_TIMEOUT_MS + 10_000);
});
