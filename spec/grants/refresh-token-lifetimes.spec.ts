// spec/grants/refresh-token-lifetimes.spec.ts
// Refresh-token lifetimes with the injected clock: absolute (14 days from the start of the
// grant, rotating and reuse), sliding (90 days mobile, 10 minutes public web), sliding with an
// absolute cap, and what expiry does (invalid_grant, no revocation).
import { createMemoryStorage, hashOpaqueToken, type MemoryStorage } from '../../lib';
import type { CodeTestApp } from '../helpers/create-app';
import type { Caller } from '../helpers/code-flow';
import { createRefreshTestApp, DAY, MINUTE, refresh, RT_CAPPED, RT_MOBILE, RT_REUSE, RT_SPA, RT_WEB, RT_WEB_B, startGrant, storedToken } from '../helpers/refresh-flow';

let memory: MemoryStorage;
let harness: CodeTestApp;
let start: number;

beforeEach(() => {
  harness = createRefreshTestApp((clock) => {
    memory = createMemoryStorage({ clock });
    return { storage: memory };
  });
  start = harness.clock();
});
afterEach(() => memory.close());

/** Moves the test clock to `ms` after the start of the grant. */
function at(ms: number): void {
  harness.clock.set(start + ms);
}

/** Refreshes and expects success; returns the rotated token (or the same one in reuse mode). */
async function refreshOk(token: string, caller: Caller): Promise<string> {
  const res = await refresh(harness.app, token, caller);
  if (res.status !== 200) throw new Error(`refresh at +${(harness.clock() - start) / DAY} d failed: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body.refresh_token as string | undefined) ?? token;
}

async function expectExpired(token: string, caller: Caller): Promise<void> {
  const res = await refresh(harness.app, token, caller);
  expect(res.status).toBe(400);
  expect(res.body.error).toBe('invalid_grant');
}

describe('absolute, 14 days (the confidential default)', () => {
  it('refresh at day 13 works; the rotated token still dies 14 days after the start of the grant', async () => {
    const { refreshToken: first } = await startGrant(harness, RT_WEB);
    at(13 * DAY);
    const second = await refreshOk(first, RT_WEB);
    expect((await storedToken(harness.storage, second))?.expiresAt).toBe(start + 14 * DAY);
    at(14 * DAY - 1);
    const third = await refreshOk(second, RT_WEB);
    at(14 * DAY);
    await expectExpired(third, RT_WEB);
  });

  it('an unused token works until 14 days minus 1 ms and is invalid_grant at 14 days', async () => {
    const a = await startGrant(harness, RT_WEB);
    const b = await startGrant(harness, RT_WEB);
    at(14 * DAY - 1);
    await refreshOk(a.refreshToken, RT_WEB);
    at(14 * DAY);
    await expectExpired(b.refreshToken, RT_WEB);
  });

  it('reuse mode: the same token works at day 1, 7 and 13.99 and dies at day 14', async () => {
    const { refreshToken: rt } = await startGrant(harness, RT_REUSE);
    for (const day of [1, 7, 13.99]) {
      at(day * DAY);
      expect(await refreshOk(rt, RT_REUSE)).toBe(rt);
    }
    at(14 * DAY);
    await expectExpired(rt, RT_REUSE);
  });
});

describe('sliding, 90 days (Mobile)', () => {
  it('refresh at day 80, then again at day 160, works; each token lives 90 days from its issue', async () => {
    const { refreshToken: first } = await startGrant(harness, RT_MOBILE);
    at(80 * DAY);
    const second = await refreshOk(first, RT_MOBILE);
    expect((await storedToken(harness.storage, second))?.expiresAt).toBe(start + 170 * DAY);
    at(160 * DAY);
    const third = await refreshOk(second, RT_MOBILE);
    expect((await storedToken(harness.storage, third))?.expiresAt).toBe(start + 250 * DAY);
    at(249 * DAY);
    await refreshOk(third, RT_MOBILE);
  });

  it('a token unused for 91 days fails (and one unused for exactly 90 days too)', async () => {
    const { refreshToken: first } = await startGrant(harness, RT_MOBILE);
    at(80 * DAY);
    const second = await refreshOk(first, RT_MOBILE);
    at(80 * DAY + 91 * DAY);
    await expectExpired(second, RT_MOBILE);

    const other = await startGrant(harness, RT_MOBILE);
    const issued = harness.clock();
    harness.clock.set(issued + 90 * DAY - 1);
    const kept = await refreshOk(other.refreshToken, RT_MOBILE);
    harness.clock.set(issued + 90 * DAY - 1 + 90 * DAY);
    await expectExpired(kept, RT_MOBILE);
  });
});

describe('sliding, 10 minutes (PublicWeb)', () => {
  it('a refresh every 9 minutes keeps the family alive for an hour; 10 minutes idle kills it', async () => {
    let token = (await startGrant(harness, RT_SPA)).refreshToken;
    for (let i = 1; i <= 7; i += 1) {
      at(i * 9 * MINUTE);
      token = await refreshOk(token, RT_SPA);
    }
    expect((await storedToken(harness.storage, token))?.expiresAt).toBe(start + 63 * MINUTE + 10 * MINUTE);
    at(63 * MINUTE + 10 * MINUTE - 1);
    token = await refreshOk(token, RT_SPA);
    harness.clock.advance(10 * MINUTE);
    await expectExpired(token, RT_SPA);
  });
});

describe('sliding with an absolute cap (10 days, maxLifetime 25 days)', () => {
  it('slides until the cap, then stops: the last tokens expire at day 25 whatever their issue time', async () => {
    const { refreshToken: first } = await startGrant(harness, RT_CAPPED);
    expect(await storedToken(harness.storage, first)).toMatchObject({ expiresAt: start + 10 * DAY, familyExpiresAt: start + 25 * DAY });
    at(9 * DAY);
    const second = await refreshOk(first, RT_CAPPED);
    expect((await storedToken(harness.storage, second))?.expiresAt).toBe(start + 19 * DAY);
    at(18 * DAY);
    const third = await refreshOk(second, RT_CAPPED);
    expect((await storedToken(harness.storage, third))?.expiresAt).toBe(start + 25 * DAY);
    at(25 * DAY - 1);
    const fourth = await refreshOk(third, RT_CAPPED);
    expect((await storedToken(harness.storage, fourth))?.expiresAt).toBe(start + 25 * DAY);
    at(25 * DAY);
    await expectExpired(fourth, RT_CAPPED);
  });

  it('an idle token still dies at its own sliding expiry before the cap', async () => {
    const { refreshToken: first } = await startGrant(harness, RT_CAPPED);
    at(10 * DAY);
    await expectExpired(first, RT_CAPPED);
  });
});

describe('what expiry does', () => {
  it('an expired token is invalid_grant with the description of an unknown one, and revokes nothing', async () => {
    const a = await startGrant(harness, RT_MOBILE);
    at(90 * DAY);
    const expired = await refresh(harness.app, a.refreshToken, RT_MOBILE);
    const unknown = await refresh(harness.app, 'A'.repeat(43), RT_MOBILE);
    expect(expired.status).toBe(400);
    expect(expired.body).toEqual(unknown.body);
    expect(await harness.storage.isGrantRevoked(a.grantId)).toBe(false);
    expect(harness.events.filter((e) => e.type === 'grant.revoked' || e.type === 'refresh_token.reused')).toHaveLength(0);
  });

  it('an expired token of another client is invalid_grant too', async () => {
    const { refreshToken: rt } = await startGrant(harness, RT_WEB);
    at(15 * DAY);
    const res = await refresh(harness.app, rt, RT_WEB_B);
    expect(res.body.error).toBe('invalid_grant');
  });

  it('the memory storage may sweep expired tokens: the answer stays invalid_grant', async () => {
    const { refreshToken: rt } = await startGrant(harness, RT_SPA);
    at(11 * MINUTE);
    expect(memory.sweep()).toBeGreaterThanOrEqual(1);
    expect(await harness.storage.findRefreshToken(hashOpaqueToken(rt))).toBeUndefined();
    await expectExpired(rt, RT_SPA);
  });

  it('a family revoked for reuse stays revoked for as long as its newest token could live, through sweeps', async () => {
    const { refreshToken: first, grantId } = await startGrant(harness, RT_MOBILE);
    at(DAY);
    const second = await refreshOk(first, RT_MOBILE);
    at(2 * DAY);
    await expectExpired(first, RT_MOBILE);
    expect(await harness.storage.isGrantRevoked(grantId)).toBe(true);
    at(DAY + 90 * DAY - 1);
    memory.sweep();
    await expectExpired(second, RT_MOBILE);
    expect(await harness.storage.isGrantRevoked(grantId)).toBe(true);
  });
});

describe('reuse detection of rotated tokens that have expired since (sliding policies)', () => {
  // The rotated parent of a sliding family expires long before its successor. A legitimate
  // client coming back with the parent (after an attacker rotated it) must still kill the family.
  it('a rotated token presented after its own expiry revokes the family (record still stored)', async () => {
    const { refreshToken: first, grantId } = await startGrant(harness, RT_MOBILE);
    at(80 * DAY);
    const second = await refreshOk(first, RT_MOBILE);
    at(100 * DAY);
    await expectExpired(first, RT_MOBILE);
    expect(await harness.storage.isGrantRevoked(grantId)).toBe(true);
    await expectExpired(second, RT_MOBILE);
  });

  // A rotated record is retained until its successor expires (retainUntil), so eviction of the
  // used token cannot hide its reuse while the successor (possibly an attacker's) lives.
  it('a rotated token presented after its own expiry revokes the family also after the storage swept it', async () => {
    const { refreshToken: first, grantId } = await startGrant(harness, RT_MOBILE);
    at(80 * DAY);
    const second = await refreshOk(first, RT_MOBILE);
    at(100 * DAY);
    memory.sweep();
    await expectExpired(first, RT_MOBILE);
    expect(await harness.storage.isGrantRevoked(grantId)).toBe(true);
    await expectExpired(second, RT_MOBILE);
  });
});
