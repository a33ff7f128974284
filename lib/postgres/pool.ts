// lib/postgres/pool.ts
// The slice of a node-postgres `Pool` the adapter uses. Declared here so the adapter's types do not
// depend on `@types/pg`; a `new Pool(...)` of pg@8 satisfies it.

/** One statement: its text, its `$n` parameters, and (optionally) a name to prepare it under. */
export interface PostgresQuery {
  /** The SQL, with `$1`, `$2`, … placeholders. */
  readonly text: string;
  /** The placeholders' values, in order (numbers, strings, null; JSON is passed as a string). */
  readonly values?: unknown[];
  /** A name makes node-postgres prepare the statement once per connection and reuse the plan. */
  readonly name?: string;
}

/** What a query resolves to (node-postgres' `QueryResult`, the fields the adapter reads). */
export interface PostgresQueryResult {
  /** The rows, column name → value. */
  readonly rows: ReadonlyArray<Record<string, unknown>>;
  /** Rows inserted, updated, deleted or returned. */
  readonly rowCount: number | null;
}

/** A client checked out of the pool (node-postgres' `PoolClient`): used for the migration transaction only. */
export interface PostgresPoolClient {
  /** Runs one statement on this client's connection. */
  query(query: PostgresQuery): Promise<PostgresQueryResult>;
  /** Returns the client to the pool; with an error, the pool discards it instead. */
  release(error?: Error | boolean): void;
}

/** The part of a node-postgres `Pool` the adapter uses. */
export interface PostgresPool {
  /** Runs one statement on any idle connection. */
  query(query: PostgresQuery): Promise<PostgresQueryResult>;
  /** Checks a client out of the pool (release it when done). */
  connect(): Promise<PostgresPoolClient>;
  /** Listens for errors of idle connections (without a listener they would crash the process). */
  on(event: 'error', listener: (error: Error) => void): unknown;
  /** How many error listeners there are (the adapter adds one only when the host has none). */
  listenerCount(event: 'error'): number;
}
