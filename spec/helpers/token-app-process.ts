// spec/helpers/token-app-process.ts
// Token-endpoint instances as separate processes (spec/fixtures/token-app.ts) for the multi-instance
// and crash specs: start, stop or kill one, and talk to it over HTTP.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const FIXTURE = join(__dirname, '..', 'fixtures', 'token-app.ts');
/** The client secret of every client of the fixture. */
export const FIXTURE_SECRET = 'fixture-secret-0123456789abcdef';
/** The redirect URI of the fixture's `web` client. */
export const FIXTURE_REDIRECT = 'https://web.example.com/cb';

export interface Instance {
  readonly name: string;
  readonly base: string;
  readonly child: ChildProcess;
  readonly log: () => string;
}

export interface Reply {
  readonly status: number;
  readonly instance: string | null;
  readonly body: Record<string, unknown>;
}

/** Starts the fixture with `env` (plus ETE_INSTANCE=name) and resolves once it listens. */
export function startInstance(name: string, env: NodeJS.ProcessEnv): Promise<Instance> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
      cwd: join(__dirname, '..', '..'),
      env: { ...env, ETE_INSTANCE: name },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Never outlive the test run, even when jest is stopped before afterAll.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.removeListener('exit', killOnExit));
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`instance ${name} did not start in 45 s:\n${out}\n${err}`)), 45_000);
    child.stderr?.on('data', (chunk: Buffer) => { err += chunk.toString(); });
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const ready = /READY (\d+)/.exec(out);
      if (ready) {
        clearTimeout(timer);
        resolve({ name, base: `http://127.0.0.1:${ready[1]}`, child, log: () => err });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`instance ${name} exited with ${code}:\n${out}\n${err}`));
    });
  });
}

/** Stops an instance with `signal` (SIGTERM: orderly; SIGKILL: a crash) and waits for it to exit. */
export async function stopInstance(instance: Instance | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!instance || instance.child.exitCode !== null || instance.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => instance.child.once('exit', () => resolve()));
  instance.child.kill(signal);
  await exited;
}

/** A form POST, with HTTP Basic client authentication when `client` is given. */
export async function post(instance: Instance, path: string, form: Record<string, string>, client?: string): Promise<Reply> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (client) headers.authorization = `Basic ${Buffer.from(`${client}:${FIXTURE_SECRET}`).toString('base64')}`;
  const res = await fetch(`${instance.base}${path}`, { method: 'POST', headers, body: new URLSearchParams(form).toString() });
  return { status: res.status, instance: res.headers.get('x-ete-instance'), body: (await res.json()) as Record<string, unknown> };
}

/** Calls one of the fixture's test-only admin routes. */
export async function admin<T>(instance: Instance, path: string, body: unknown): Promise<T> {
  const res = await fetch(`${instance.base}/test${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`admin ${path} on ${instance.name}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Redeems an authorization code of the fixture's `web` client. */
export function redeem(on: Instance, code: string): Promise<Reply> {
  return post(on, '/connect/token', { grant_type: 'authorization_code', code, redirect_uri: FIXTURE_REDIRECT }, 'web');
}

/** Refreshes with a refresh token of the fixture's `web` client. */
export function refresh(on: Instance, refreshToken: string): Promise<Reply> {
  return post(on, '/connect/token', { grant_type: 'refresh_token', refresh_token: refreshToken }, 'web');
}
