// spec/helpers/postgres.ts
// PostgreSQL for the PostgreSQL adapter specs: PG_URL (or DATABASE_URL) when set, else the suites
// skip with a message — except under CI, where a missing database fails them. Specs that stop and
// crash the server start a throwaway cluster of their own from the installed binaries (as the
// `postgres` user when running as root: PostgreSQL refuses to run as root).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool, type PoolConfig } from 'pg';
import { freePort } from './redis';

export const POSTGRES_SKIP_MESSAGE = 'PostgreSQL not available: set PG_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres) to run the PostgreSQL adapter tests';

type Mode = { readonly kind: 'url'; readonly url: string } | { readonly kind: 'missing'; readonly reason: string };

let decided: Mode | undefined;

/** PG_URL or DATABASE_URL, checked reachable when the spec file loads. */
export function postgresMode(): Mode {
  if (decided) return decided;
  const url = process.env.PG_URL || process.env.DATABASE_URL;
  if (!url) decided = { kind: 'missing', reason: 'neither PG_URL nor DATABASE_URL is set' };
  else decided = canQuery(url) ? { kind: 'url', url } : { kind: 'missing', reason: `${redact(url)} does not answer a query` };
  return decided;
}

/** The directory of the PostgreSQL server binaries (initdb, pg_ctl), or undefined when not installed. */
export function postgresBinDir(): string | undefined {
  const fromConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const candidates: string[] = fromConfig.status === 0 ? [fromConfig.stdout.trim()] : [];
  // Debian puts the server binaries under /usr/lib/postgresql/<major>/bin, newest last after sorting.
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    for (const major of readdirSync(debian).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a))) candidates.push(join(debian, major, 'bin'));
  }
  return candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')));
}

function canQuery(url: string): boolean {
  const script = `const { Client } = require('pg'); const c = new Client({ connectionString: ${JSON.stringify(url)}, connectionTimeoutMillis: 3000 });
c.connect().then(() => c.query('SELECT 1')).then(() => c.end()).then(() => process.exit(0), () => process.exit(1));`;
  return spawnSync(process.execPath, ['-e', script], { timeout: 8000, cwd: join(__dirname, '..', '..') }).status === 0;
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

/**
 * Registers `body` inside a describe block when PostgreSQL is available; `url()` gives its URL.
 * Without it the block holds one skipped test naming what to set — or, under CI, one failing
 * test: CI must run these specs. `ownServer`: the spec starts and stops its own cluster, so it
 * needs the server binaries (a URL alone is not enough).
 */
export function describeWithPostgres(title: string, body: (url: () => string) => void, options: { ownServer?: boolean } = {}): void {
  let mode: Mode = postgresMode();
  if (options.ownServer) mode = postgresBinDir() ? { kind: 'url', url: '' } : { kind: 'missing', reason: 'the PostgreSQL server binaries (initdb, pg_ctl) are not installed (this spec starts its own server)' };
  if (mode.kind === 'missing') {
    const reason = mode.reason;
    if (process.env.CI) {
      describe(title, () => {
        it('has a PostgreSQL to test against', () => {
          throw new Error(`${reason}. CI must run the PostgreSQL specs: .ci/run installs PostgreSQL, starts a cluster and exports PG_URL.`);
        });
      });
    } else {
      console.warn(`${title}: ${POSTGRES_SKIP_MESSAGE} (${reason}).`);
      describe(title, () => {
        it.skip(POSTGRES_SKIP_MESSAGE, () => undefined);
      });
    }
    return;
  }
  const url = mode.url;
  describe(title, () => body(() => url));
}

/** A schema name no other test uses. */
export function freshSchema(label = 'test'): string {
  return `ete_${label}_${randomBytes(5).toString('hex')}`;
}

/** A pool on `url` that fails fast while the server is down. */
export function createPool(url: string, config: PoolConfig = {}): Pool {
  const pool = new Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 2000, idleTimeoutMillis: 5000, ...config });
  return pool;
}

/** Drops a schema and everything in it (test cleanup). */
export async function dropSchema(url: string, schema: string): Promise<void> {
  const pool = createPool(url, { max: 1 });
  pool.on('error', () => undefined);
  try {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await pool.end();
  }
}

/** A throwaway PostgreSQL cluster on loopback. */
export interface PostgresServer {
  readonly port: number;
  readonly url: string;
  /** Orderly shutdown (`pg_ctl stop -m fast`): an outage. */
  stop(): Promise<void>;
  /** `pg_ctl stop -m immediate`: every server process quits at once, as in a crash; the next start recovers from the WAL. */
  crash(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  /** Stops it for good and removes its directory. */
  dispose(): Promise<void>;
}

/** Runs a server binary, as the postgres user when this process is root. */
function runAsServerUser(bin: string, args: readonly string[]): { status: number | null; output: string } {
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const [command, commandArgs] = asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, [...args]];
  const result = spawnSync(command, commandArgs, { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}` };
}

/** initdb into a fresh directory and start the server on a free loopback port (trust auth: loopback, throwaway). */
export async function startPostgresServer(): Promise<PostgresServer> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL server binaries not found');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ete-pg-'));
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (asRoot) {
    const ids = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gids = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (ids.status !== 0) throw new Error('running as root but there is no postgres user to run the server as');
    chownSync(dir, Number(ids.stdout.trim()), Number(gids.stdout.trim()));
  }
  chmodSync(dir, 0o700);
  const data = join(dir, 'data');
  const init = runAsServerUser(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  if (init.status !== 0) throw new Error(`initdb failed:\n${init.output}`);
  const pgCtl = (args: readonly string[]) => runAsServerUser(join(bin, 'pg_ctl'), ['-D', data, ...args]);
  const start = async () => {
    const started = pgCtl(['-l', join(dir, 'log'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=on`, '-w', '-t', '30', 'start']);
    if (started.status !== 0) throw new Error(`pg_ctl start failed:\n${started.output}`);
  };
  const stopWith = async (mode: 'fast' | 'immediate') => {
    const stopped = pgCtl(['-m', mode, '-w', '-t', '30', 'stop']);
    if (stopped.status !== 0 && !/Is server running\?/.test(stopped.output)) throw new Error(`pg_ctl stop failed:\n${stopped.output}`);
  };
  const stopOnExit = () => {
    pgCtl(['-m', 'immediate', 'stop']);
  };
  process.once('exit', stopOnExit);
  await start();
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => stopWith('fast'),
    crash: () => stopWith('immediate'),
    start,
    dispose: async () => {
      await stopWith('fast');
      process.removeListener('exit', stopOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
