// examples/sqlite-registry/registry.ts
// A ClientRegistry of your own, on a SQLite table, next to the SQLite token storage in the same
// database file. The registry holds secret digests only (hashClientSecret); the router checks every
// record it returns (a bad row is a logged 500 naming the field, never a token), and caches that
// check per record object, so the registry returns one frozen object per row version.
// `npm run examples` compiles it with --strict and runs main() through HTTP with supertest.
import { strict as assert } from 'node:assert';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import request from 'supertest';
import { clientCredentials, createTokenRouter, refreshToken } from 'express-token-endpoint';
// #region registry
import Database from 'better-sqlite3';
import { hashClientSecret, type ClientRegistry, type Logger, type RegisteredClient } from 'express-token-endpoint';
import { createSqliteStorage } from 'express-token-endpoint/sqlite';

/** Clients in a table of your own: one JSON document (RFC 7591 names) per client. */
export function createSqliteClientRegistry(db: Database.Database): ClientRegistry & {
  upsert(client: RegisteredClient): void;
} {
  db.exec('CREATE TABLE IF NOT EXISTS app_clients (client_id TEXT PRIMARY KEY, record TEXT NOT NULL, version INTEGER NOT NULL)');
  const select = db.prepare<[string], { record: string; version: number }>('SELECT record, version FROM app_clients WHERE client_id = ?');
  const upsert = db.prepare('INSERT INTO app_clients (client_id, record, version) VALUES (?, ?, 1) ON CONFLICT (client_id) DO UPDATE SET record = excluded.record, version = version + 1');
  // The same object for an unchanged row, so the router's per-record check runs once per version.
  const cache = new Map<string, { version: number; client: RegisteredClient }>();
  return {
    async findClient(clientId) {
      const row = select.get(clientId);
      if (!row) return undefined;
      const cached = cache.get(clientId);
      if (cached?.version === row.version) return cached.client;
      const client = Object.freeze(JSON.parse(row.record) as RegisteredClient);
      cache.set(clientId, { version: row.version, client });
      return client;
    },
    upsert(client) {
      upsert.run(client.client_id, JSON.stringify(client));
    },
  };
}

export function createTokenRouterOnSqlite(filename: string, privateKey: string, logger?: Logger) {
  const db = new Database(filename);
  db.pragma('journal_mode = WAL'); // the storage leaves the pragmas of a database you pass to you
  const clients = createSqliteClientRegistry(db);
  const storage = createSqliteStorage({ database: db }); // its tables next to yours, in the same file
  const tokenRouter = createTokenRouter({
    issuer: 'https://id.example.com',
    signingKeys: [{ kid: '2026-01', alg: 'RS256', privateKey }],
    clients,
    storage,
    grants: [clientCredentials(), refreshToken()],
    ...(logger ? { logger } : {}),
  });
  return { tokenRouter, clients, close: () => { storage.close(); db.close(); } };
}
// #endregion registry

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-registry-'));
  const privateKey = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey;
  const errors: string[] = [];
  const logger: Logger = { warn: () => undefined, error: (message, details) => errors.push(JSON.stringify({ message, details })) };
  const { tokenRouter, clients, close } = createTokenRouterOnSqlite(join(dir, 'idp.sqlite'), privateKey, logger);
  try {
    const app = express().use('/connect', tokenRouter);
    // Your admin tooling writes clients; only the digest of the secret is stored.
    clients.upsert({ client_id: 'reports', client_secrets: [{ sha256: hashClientSecret('reports-secret-change-me-0123456789') }], grant_types: ['client_credentials'], scope: 'reports:read' });
    const token = () => request(app).post('/connect/token').auth('reports', 'reports-secret-change-me-0123456789').type('form').send({ grant_type: 'client_credentials' });
    const first = await token();
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.scope, 'reports:read');

    // A changed row is a new record object: the new scope applies at once.
    clients.upsert({ client_id: 'reports', client_secrets: [{ sha256: hashClientSecret('reports-secret-change-me-0123456789') }], grant_types: ['client_credentials'], scope: 'reports:read reports:export' });
    assert.equal((await token()).body.scope, 'reports:read reports:export');

    // A bad row (a plaintext secret) is never served: 500 server_error, and the log names the field.
    clients.upsert({ client_id: 'broken', client_secret: 'plaintext-secret-0123456789', grant_types: ['client_credentials'] } as unknown as RegisteredClient);
    const broken = await request(app).post('/connect/token').auth('broken', 'plaintext-secret-0123456789').type('form').send({ grant_type: 'client_credentials' });
    assert.equal(broken.status, 500);
    assert.equal(broken.body.error, 'server_error');
    assert.equal(broken.body.access_token, undefined);
    assert.ok(errors.some((line) => line.includes('broken')), `the log names the client: ${errors.join(' | ')}`);
  } finally {
    close();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('sqlite-registry example: clients from a SQLite table, a changed row applies at once, a bad row is a 500 without a token');
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
