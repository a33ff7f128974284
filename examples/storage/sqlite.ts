// examples/storage/sqlite.ts
// The SQLite adapter: durable state in one file, shared by every process on the host that opens it.
// `npm run examples` compiles it with --strict and runs main(): a refresh token survives a restart.
import { strict as assert } from 'node:assert';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import express from 'express';
import { createMemoryClientRegistry, type TokenRouterOptions } from 'express-token-endpoint';
// #region imports
import { createTokenRouter } from 'express-token-endpoint';
import { createSqliteStorage } from 'express-token-endpoint/sqlite';
// #endregion imports

const SECRET = 'web-secret-change-me-0123456789';

function start(filename: string, options: Omit<TokenRouterOptions, 'storage'>) {
  const app = express();
  // #region storage
  const storage = createSqliteStorage({ filename }); // e.g. '/var/lib/my-idp/tokens.sqlite'
  app.use('/connect', createTokenRouter({ ...options, storage }));
  process.on('SIGTERM', () => storage.close());
  // #endregion storage
  return { app, storage };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-example-'));
  const privateKey = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey;
  const options = {
    issuer: 'https://id.example.com',
    signingKeys: [{ kid: 'k1', privateKey }],
    clients: createMemoryClientRegistry([{ client_id: 'web', client_secret: SECRET, grant_types: ['authorization_code', 'refresh_token'], redirect_uris: ['https://web.example.com/cb'], scope: 'openid offline_access' }]),
  };
  try {
    const first = start(join(dir, 'tokens.sqlite'), options);
    const router = createTokenRouter({ ...options, storage: first.storage }); // the host API, on the same file
    const { code } = await router.issueAuthorizationCode({ clientId: 'web', redirectUri: 'https://web.example.com/cb', scope: 'openid offline_access', subject: 'alice' });
    const tokens = await request(first.app).post('/connect/token').auth('web', SECRET).type('form').send({ grant_type: 'authorization_code', code, redirect_uri: 'https://web.example.com/cb' });
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
    first.storage.close();

    // A restart: a new process opens the same file; the refresh token still works, once.
    const second = start(join(dir, 'tokens.sqlite'), options);
    const refresh = () => request(second.app).post('/connect/token').auth('web', SECRET).type('form').send({ grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token });
    assert.equal((await refresh()).status, 200);
    second.storage.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
    process.removeAllListeners('SIGTERM');
  }
  console.log('sqlite example: a refresh token issued before a restart works after it');
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
