// spec/storage/postgres.spec.ts
// The PostgreSQL adapter through the public conformance kit, plain and with 1-5 ms of injected
// latency per call leg (the kit runs both): every method's promise and its races, 50-way.
// One schema for this file (migrated once, emptied before each test, dropped at the end).
import type { Pool } from 'pg';
import { createPostgresStorage, migratePostgresStorage, type PostgresStorage } from '../../lib/postgres';
import { runStorageConformance } from '../../lib/testing';
import { createPool, describeWithPostgres, dropSchema, freshSchema } from '../helpers/postgres';

const TABLES = ['authorization_codes', 'refresh_tokens', 'revoked_grants', 'revoked_access_tokens', 'one_time_uses', 'device_codes', 'user_codes'];

describeWithPostgres('PostgreSQL adapter: conformance kit', (url) => {
  const schema = freshSchema('kit');
  let pool: Pool;

  beforeAll(async () => {
    pool = createPool(url(), { max: 20 });
    await migratePostgresStorage(pool, { schema });
  });

  afterAll(async () => {
    await pool?.end();
    await dropSchema(url(), schema);
  });

  runStorageConformance<PostgresStorage>({
    name: 'postgres',
    create: async (clock) => {
      await pool.query(`TRUNCATE ${TABLES.map((table) => `"${schema}".${table}`).join(', ')}`);
      return createPostgresStorage({ pool, schema, clock, purgeIntervalMs: 0 });
    },
    destroy: (storage) => storage.close(),
    housekeeping: async (storage) => {
      await storage.purge();
    },
  });
});
