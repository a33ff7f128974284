// lib/sqlite/driver.ts
// The slice of better-sqlite3 the adapter uses, and loading the (optional) driver lazily with a clear error.
import { ConfigurationError } from '../contracts/errors';

/** Result of a write statement. */
export interface SqliteRunResult {
  /** Rows inserted, updated or deleted by the statement. */
  readonly changes: number;
}

/** A prepared statement (better-sqlite3's `Statement`). */
export interface SqliteStatement {
  /** Runs a write with these bound parameters. */
  run(...params: unknown[]): SqliteRunResult;
  /** The first row, or undefined when there is none. */
  get(...params: unknown[]): unknown;
  /** Every row. */
  all(...params: unknown[]): unknown[];
}

/** The parameters of a function (spelled as better-sqlite3's types spell it, so its `Database` matches). */
export type ArgumentsOf<F> = F extends (...args: infer A) => unknown ? A : never;

/**
 * The part of a better-sqlite3 `Database` the adapter uses. Declared here so the adapter's types
 * do not depend on `@types/better-sqlite3`; a `new Database(...)` of better-sqlite3 satisfies it.
 */
export interface SqliteDatabase {
  /** Whether the connection is open. */
  readonly open: boolean;
  /** Whether it was opened read-only (the adapter refuses such a database). */
  readonly readonly: boolean;
  /** Whether it is an in-memory database. */
  readonly memory: boolean;
  /** The file name it was opened with. */
  readonly name: string;
  /** Compiles one SQL statement. */
  prepare(source: string): SqliteStatement;
  /** Runs SQL text (possibly several statements) without parameters. */
  exec(source: string): unknown;
  /** Runs a PRAGMA; `simple` returns the first column of the first row. */
  pragma(source: string, options?: { simple?: boolean }): unknown;
  /**
   * Wraps `fn` in a transaction (BEGIN, or BEGIN IMMEDIATE through `.immediate`). Called inside
   * another transaction, either form runs as a SAVEPOINT (better-sqlite3 nests them).
   *
   * @typeParam F - The wrapped function.
   */
  transaction<F extends (...args: never[]) => unknown>(fn: F): ((...args: ArgumentsOf<F>) => ReturnType<F>) & {
    /** Runs the transaction with BEGIN IMMEDIATE (takes the write lock up front). */
    immediate(...args: ArgumentsOf<F>): ReturnType<F>;
  };
  /** Closes the connection. */
  close(): unknown;
}

/** What `require('better-sqlite3')` exports: the Database constructor. */
export type SqliteDatabaseConstructor = new (filename: string, options?: { timeout?: number }) => SqliteDatabase;

export const INSTALL_HINT = 'install the optional peer dependency better-sqlite3@12 (npm install better-sqlite3@12)';

/**
 * Loads better-sqlite3 through `load` (Node's `require` by default). A missing driver becomes a
 * ConfigurationError that says what to install; any other loading error is rethrown as it is.
 */
export function loadDriver(load: (id: string) => unknown = require): SqliteDatabaseConstructor {
  let driver: unknown;
  try {
    driver = load('better-sqlite3');
  } catch (error) {
    if (isModuleNotFound(error)) {
      throw new ConfigurationError('ERR_TOKEN_ROUTER_STORAGE', [`createSqliteStorage: the SQLite driver is not installed: ${INSTALL_HINT}.`]);
    }
    throw error;
  }
  const ctor = typeof driver === 'function' ? driver : (driver as { default?: unknown } | null)?.default;
  if (typeof ctor !== 'function') {
    throw new ConfigurationError('ERR_TOKEN_ROUTER_STORAGE', [`createSqliteStorage: require('better-sqlite3') did not return the Database constructor; ${INSTALL_HINT}.`]);
  }
  return ctor as SqliteDatabaseConstructor;
}

/**
 * Opens `filename` with the driver. A driver whose native module was never built (npm 11 blocks
 * dependency install scripts unless approved) fails here: say how to fix it.
 */
export function openDatabase(Driver: SqliteDatabaseConstructor, filename: string, busyTimeoutMs: number): SqliteDatabase {
  try {
    return new Driver(filename, { timeout: busyTimeoutMs });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/bindings file|better_sqlite3\.node|NODE_MODULE_VERSION|was compiled against/i.test(message)) {
      throw new ConfigurationError('ERR_TOKEN_ROUTER_STORAGE', [
        `createSqliteStorage: better-sqlite3 is installed but its native module is missing or built for another Node.js (${message.split('\n')[0]}). ` +
          'Allow its install script (`npm install-scripts approve better-sqlite3` on npm 11) and run `npm rebuild better-sqlite3`.',
      ]);
    }
    throw error;
  }
}

function isModuleNotFound(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  // Only the driver itself missing: a missing dependency *of* the driver is a broken install, not "not installed".
  return code === 'MODULE_NOT_FOUND' && typeof message === 'string' && /['"]better-sqlite3['"]/.test(message.split('\n')[0] ?? '');
}
