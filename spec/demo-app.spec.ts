// spec/demo-app.spec.ts
// The demo host: createDemoApp through supertest, then the real `npm run demo` entry as a process.
import { spawn, type ChildProcess } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { createDemoApp, DEFAULT_CLIENTS_FILE, DEFAULT_SIGNING_KEY_FILE } from '../demo-app/app';

const ROOT = join(__dirname, '..');
const DEMO_ID = 'demo-service';
const DEMO_SECRET = 'demo-service-secret-change-me-0123456789';
const ISSUER = 'http://localhost:3000';
const BASIC = `Basic ${Buffer.from(`${DEMO_ID}:${DEMO_SECRET}`).toString('base64')}`;

function decodeHeader(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString());
}

describe('createDemoApp', () => {
  let dir: string;
  let keyFile: string;
  const lines: string[] = [];
  const writeLine = (line: string) => lines.push(line);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'demo-app-'));
    keyFile = join(dir, 'nested', 'signing-key.pem');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves its default files from the demo-app folder, not the working directory', () => {
    expect(DEFAULT_CLIENTS_FILE).toBe(join(ROOT, 'demo-app', 'clients.json'));
    expect(DEFAULT_SIGNING_KEY_FILE).toBe(join(ROOT, 'demo-app', '.data', 'signing-key.pem'));
  });

  it('creates the key file (PKCS#8, 0600) and issues an RS256 at+jwt for demo-service over HTTP Basic', async () => {
    const app = createDemoApp({ issuer: ISSUER, signingKeyFile: keyFile, writeLine });
    expect(existsSync(keyFile)).toBe(true);
    const pem = readFileSync(keyFile, 'utf8');
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    if (process.platform !== 'win32') expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(lines.some((line) => line.includes('Generated a new RSA-2048 signing key') && line.includes(keyFile))).toBe(true);

    const res = await request(app).post('/connect/token').set('Authorization', BASIC).type('form').send('grant_type=client_credentials&scope=api:read');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'api:read' });
    const header = decodeHeader(res.body.access_token);
    expect(header).toEqual({ alg: 'RS256', typ: 'at+jwt', kid: expect.stringMatching(/^[A-Za-z0-9_-]{16}$/) });
    const payload = jwt.verify(res.body.access_token, createPublicKey(pem), { algorithms: ['RS256'], issuer: ISSUER, audience: ISSUER }) as jwt.JwtPayload;
    expect(payload).toMatchObject({ sub: DEMO_ID, client_id: DEMO_ID, scope: 'api:read' });
  });

  it('logs each event as one JSON line with an "event" field and no secrets', async () => {
    lines.length = 0;
    const app = createDemoApp({ issuer: ISSUER, signingKeyFile: keyFile, writeLine });
    const ok = await request(app).post('/connect/token').set('Authorization', BASIC).type('form').send('grant_type=client_credentials');
    await request(app).post('/connect/token').type('form').send(`grant_type=client_credentials&client_id=${DEMO_ID}&client_secret=wrong-secret-0123456789`);
    const events = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events).toEqual([
      expect.objectContaining({ event: 'token.issued', clientId: DEMO_ID, grantType: 'client_credentials', time: expect.any(String) }),
      expect.objectContaining({ event: 'client.authentication_failed', clientId: DEMO_ID, reason: 'invalid_secret' }),
    ]);
    const output = lines.join('\n');
    expect(output).not.toContain(DEMO_SECRET);
    expect(output).not.toContain('wrong-secret');
    expect(output).not.toContain(ok.body.access_token);
  });

  it('reuses an existing key file: same kid, nothing regenerated', async () => {
    const before = readFileSync(keyFile, 'utf8');
    const kidOf = async () => {
      const app = createDemoApp({ issuer: ISSUER, signingKeyFile: keyFile, writeLine });
      const res = await request(app).post('/connect/token').set('Authorization', BASIC).type('form').send('grant_type=client_credentials');
      expect(res.status).toBe(200);
      return decodeHeader(res.body.access_token).kid;
    };
    lines.length = 0;
    const first = await kidOf();
    const second = await kidOf();
    expect(second).toBe(first);
    expect(readFileSync(keyFile, 'utf8')).toBe(before);
    expect(lines.some((line) => line.includes('Generated'))).toBe(false);
  });

  it('rejects a clients file that is not a JSON array', () => {
    const bad = join(dir, 'clients.json');
    writeFileSync(bad, '{"client_id":"x"}');
    expect(() => createDemoApp({ issuer: ISSUER, signingKeyFile: keyFile, clientsFile: bad, writeLine })).toThrow(/JSON array/);
  });
});

/** The test's environment minus the demo's own variables, so only the defaults apply. */
function demoEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['PORT', 'HOST', 'ISSUER', 'CLIENTS_FILE', 'SIGNING_KEY_FILE']) delete env[name];
  return env;
}

/** A port that was free a moment ago (the demo needs a concrete port for its default issuer). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

describe('npm run demo (real process)', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  let port: number;
  let output = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'demo-server-'));
    port = await freePort();
    // cwd must be the repo root, as under `npm run demo`: tsx takes tsconfig.json (decorators) from it.
    child = spawn(join(ROOT, 'node_modules', '.bin', 'tsx'), ['demo-app/server.ts'], {
      cwd: ROOT,
      env: { ...demoEnv(), PORT: String(port), SIGNING_KEY_FILE: join(dir, 'key.pem') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    await waitForOutput(child, /listening on http:\/\/localhost:\d+\/connect\/token/, 20_000);
  }, 30_000);

  function running(): ChildProcess {
    if (!child) throw new Error('demo was not started');
    return child;
  }

  /** Resolves once the collected output matches; rejects on timeout or if the process exits. */
  function waitForOutput(proc: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (error?: Error) => {
        clearInterval(poll);
        clearTimeout(timer);
        proc.off('exit', onExit);
        if (error) reject(error);
        else resolve();
      };
      const onExit = (code: number | null) => done(new Error(`demo exited with code ${code}; output:\n${output}`));
      const poll = setInterval(() => { if (pattern.test(output)) done(); }, 20);
      const timer = setTimeout(() => done(new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${output}`)), timeoutMs);
      proc.once('exit', onExit);
    });
  }

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the endpoint and a curl example, and generates its key', () => {
    expect(output).toContain(`http://localhost:${port}/connect/token`);
    expect(output).toMatch(/curl .*-u 'demo-service:demo-service-secret-change-me-0123456789'.*grant_type=client_credentials/);
    expect(output).toContain('Generated a new RSA-2048 signing key');
    expect(existsSync(join(dir, 'key.pem'))).toBe(true);
  });

  it('issues a JWT for client_credentials over HTTP', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/connect/token`, {
      method: 'POST',
      headers: { Authorization: BASIC, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&scope=api:write',
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { access_token: string; scope: string };
    expect(body.scope).toBe('api:write');
    const pem = readFileSync(join(dir, 'key.pem'), 'utf8');
    const issuer = `http://localhost:${port}`;
    expect(jwt.verify(body.access_token, createPublicKey(pem), { algorithms: ['RS256'], issuer, audience: issuer })).toMatchObject({ sub: DEMO_ID });
    await waitForOutput(running(), /^\{"event":"token\.issued".*"clientId":"demo-service"/m, 5_000);
  });

  it('closes the server and exits 0 on SIGTERM', async () => {
    const proc = running();
    const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    proc.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(output).toContain('SIGTERM received, closing the server');
  });
});
