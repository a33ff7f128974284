// spec/grants/authorization-code-late-replay.spec.ts
// Issue 13 item 6: code replay detection must not end when the used code is purged. A consumed
// code is kept (retainUntil) as long as tokens of its grant may live, in every adapter, so a
// replay after the code's expiry and the adapters' cleanup still revokes the grant.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { authorizationCode, createMemoryStorage, refreshToken, type StorageAdapter } from '../../lib';
import { createSqliteStorage } from '../../lib/sqlite';
import { redeem } from '../helpers/code-flow';
import { createCodeTestApp, SERVICE_SECRET, WEB_REDIRECT, type TestClock } from '../helpers/create-app';

const CLIENTS = [{ client_id: 'web', client_secret: SERVICE_SECRET, grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [WEB_REDIRECT], scope: 'openid offline_access' }];
const WEB = { id: 'web', secret: SERVICE_SECRET };
const dir = mkdtempSync(join(tmpdir(), 'ete-late-replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each<[string, (clock: TestClock) => StorageAdapter & { cleanup(): void }]>([
  ['memory', (clock) => { const storage = createMemoryStorage({ clock }); return Object.assign(storage, { cleanup: () => void storage.sweep() }); }],
  ['sqlite', (clock) => { const storage = createSqliteStorage({ filename: join(dir, `${Math.random()}.db`), clock, purgeIntervalMs: 0 }); return Object.assign(storage, { cleanup: () => void storage.purge() }); }],
])('a replay after the code expired and the %s adapter cleaned up', (_name, make) => {
  it('still revokes the grant: the first redemption\'s refresh token dies', async () => {
    let storage: (StorageAdapter & { cleanup(): void }) | undefined;
    const harness = createCodeTestApp((clock) => {
      storage = make(clock);
      return { grants: [authorizationCode(), refreshToken()], storage };
    }, CLIENTS);
    const minted = await harness.tokenRouter.issueAuthorizationCode({ clientId: 'web', redirectUri: WEB_REDIRECT, scope: 'openid offline_access', subject: 'u' });
    const first = await redeem(harness.app, { code: minted.code, redirect_uri: WEB_REDIRECT }, WEB);
    expect(first.status).toBe(200);
    // 61 s later: the 60 s code has expired, and the adapter's cleanup has run.
    harness.clock.advance(61_000);
    storage!.cleanup();
    const replay = await redeem(harness.app, { code: minted.code, redirect_uri: WEB_REDIRECT }, WEB);
    expect(replay.body.error).toBe('invalid_grant');
    expect(await harness.storage.isGrantRevoked(minted.grantId)).toBe(true);
    const refreshed = await request(harness.app).post('/connect/token').auth('web', SERVICE_SECRET).type('form').send({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token });
    expect(refreshed.body.error).toBe('invalid_grant');
  });
});
