// examples/storage/postgres.ts
// The PostgreSQL adapter on a pool you own. Needs a database: `PG_URL` (under CI it must be set;
// elsewhere the example says it skipped). `npm run examples` compiles it with --strict and runs main().
import { strict as assert } from 'node:assert';
import { generateKeyPairSync } from 'node:crypto';
import request from 'supertest';
import express from 'express';
import { createMemoryClientRegistry, type TokenRouterOptions } from 'express-token-endpoint';
// #region imports
import { Pool } from 'pg';
import { createTokenRouter } from 'express-token-endpoint';
import { createPostgresStorage } from 'express-token-endpoint/postgres';
// #endregion imports

const SECRET = 'web-secret-change-me-0123456789';

async function start(app: express.Express, options: Omit<TokenRouterOptions, 'storage'>) {
  // #region storage
  // Fail fast while the database is down: a 500 server_error instead of requests waiting.
  const pool = new Pool({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: 2000, query_timeout: 5000 });
  const storage = createPostgresStorage({ pool, schema: 'oauth', migrate: true });
  await storage.ready(); // optional: fail at startup, not on the first request
  app.use('/connect', createTokenRouter({ ...options, storage }));
  process.on('SIGTERM', async () => {
    await storage.close();
    await pool.end();
  });
  // #endregion storage
  return { pool, storage };
}

async function main(): Promise<void> {
  if (!process.env.PG_URL) {
    if (process.env.CI) throw new Error('PG_URL is not set: .ci/run starts PostgreSQL for this example');
    console.log('postgres example: skipped (set PG_URL to run it)');
    return;
  }
  process.env.DATABASE_URL = process.env.PG_URL;
  const privateKey = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey;
  const options = {
    issuer: 'https://id.example.com',
    signingKeys: [{ kid: 'k1', privateKey }],
    clients: createMemoryClientRegistry([{ client_id: 'web', client_secret: SECRET, grant_types: ['authorization_code', 'refresh_token'], redirect_uris: ['https://web.example.com/cb'], scope: 'openid offline_access' }]),
  };
  const app = express();
  const { pool, storage } = await start(app, options);
  try {
    const host = createTokenRouter({ ...options, storage });
    const { code } = await host.issueAuthorizationCode({ clientId: 'web', redirectUri: 'https://web.example.com/cb', scope: 'openid offline_access', subject: 'alice' });
    const redeem = () => request(app).post('/connect/token').auth('web', SECRET).type('form').send({ grant_type: 'authorization_code', code, redirect_uri: 'https://web.example.com/cb' });
    const tokens = await redeem();
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
    assert.equal((await redeem()).body.error, 'invalid_grant'); // a code works once
  } finally {
    await storage.close();
    await pool.query('DROP SCHEMA IF EXISTS oauth CASCADE');
    await pool.end();
    process.removeAllListeners('SIGTERM');
  }
  console.log('postgres example: a code redeemed once through PostgreSQL');
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
