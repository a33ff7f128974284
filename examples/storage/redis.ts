// examples/storage/redis.ts
// The Redis adapter with the recommended client settings, fail-closed replication waits, and the
// rate limiters' counters shared in Redis. Needs a Redis: `REDIS_URL` (under CI it must be set;
// elsewhere the example says it skipped). `npm run examples` compiles it with --strict and runs main().
import { strict as assert } from 'node:assert';
import { generateKeyPairSync } from 'node:crypto';
import request from 'supertest';
import express from 'express';
import { authorizationCode, createMemoryClientRegistry, deviceCode, refreshToken, type TokenRouterOptions } from 'express-token-endpoint';
// #region imports
import { Redis } from 'ioredis';
import { createTokenRouter } from 'express-token-endpoint';
import { createRedisStorage } from 'express-token-endpoint/redis';
// #endregion imports
// #region rate-limit-imports
import { RedisStore, type RedisReply } from 'rate-limit-redis';
// #endregion rate-limit-imports

const SECRET = 'web-secret-change-me-0123456789';

async function start(app: express.Express, options: Omit<TokenRouterOptions, 'storage'>) {
  // #region client
  // Fail fast while Redis is down: no offline queue, one retry, short timeouts. Auto-pipelining
  // sends the commands of concurrent requests in one write.
  const client = new Redis(process.env.REDIS_URL!, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 2000,
    enableAutoPipelining: true,
  });
  await client.connect(); // without the offline queue, commands sent before "ready" fail

  const storage = createRedisStorage({ client, prefix: 'ete:' });
  app.use('/connect', createTokenRouter({ ...options, storage }));
  process.on('SIGTERM', () => storage.close());
  // #endregion client
  return { client, storage };
}

function withReplicaWaits(client: Redis) {
  // #region wait-for-replicas
  const storage = createRedisStorage({ client, prefix: 'ete:', waitForReplicas: { replicas: 1, timeoutMs: 250 } });
  // #endregion wait-for-replicas
  return storage;
}

function sharedLimits(client: Redis, options: TokenRouterOptions, verificationUri: string) {
  const storage = options.storage;
  // #region shared-rate-limits
  // express-rate-limit needs one store instance per limiter; give each limiter its own prefix.
  const redisStore = (prefix: string) =>
    new RedisStore({ prefix, sendCommand: (command: string, ...args: string[]) => client.call(command, ...args) as Promise<RedisReply> });

  const tokenRouter = createTokenRouter({
    ...options,
    storage,
    rateLimit: { store: redisStore('ete-rl:token:') }, // the default limits, counted in Redis
    bruteForce: {
      clientAuthFailures: { store: redisStore('ete-rl:auth-failures:') },
      grantFailures: { store: redisStore('ete-rl:grant-failures:') },
    },
    grants: [
      deviceCode({ verificationUri, userCodeAttempts: { store: redisStore('ete-rl:user-code:') } }),
      authorizationCode(),
      refreshToken(),
    ],
  });
  // #endregion shared-rate-limits
  return tokenRouter;
}

async function main(): Promise<void> {
  if (!process.env.REDIS_URL) {
    if (process.env.CI) throw new Error('REDIS_URL is not set: .ci/run starts a Redis for this example');
    console.log('redis example: skipped (set REDIS_URL to run it)');
    return;
  }
  const privateKey = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey;
  const options = {
    issuer: 'https://id.example.com',
    signingKeys: [{ kid: 'k1', privateKey }],
    clients: createMemoryClientRegistry([{ client_id: 'web', client_secret: SECRET, grant_types: ['authorization_code', 'refresh_token'], redirect_uris: ['https://web.example.com/cb'], scope: 'openid offline_access' }]),
    onEvent: () => undefined,
  };
  const app = express();
  const { client, storage } = await start(app, options);
  const errors: string[] = [];
  try {
    const host = createTokenRouter({ ...options, storage });
    const issue = async (router = host) => (await router.issueAuthorizationCode({ clientId: 'web', redirectUri: 'https://web.example.com/cb', scope: 'openid offline_access', subject: 'alice' })).code;
    const redeem = (target: express.Express, code: string) => request(target).post('/connect/token').auth('web', SECRET).type('form').send({ grant_type: 'authorization_code', code, redirect_uri: 'https://web.example.com/cb' });
    const tokens = await redeem(app, await issue());
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));

    // Replication waits fail closed: this Redis has no replica, so WAIT 1 times out and nothing is issued.
    const waiting = createTokenRouter({ ...options, storage: withReplicaWaits(client), logger: { warn: () => undefined, error: (message) => errors.push(message) } });
    const waitingApp = express().use('/connect', waiting);
    const refused = await redeem(waitingApp, await issue(waiting));
    assert.equal(refused.status, 500);
    assert.equal(refused.body.error, 'server_error');
    assert.equal(refused.body.access_token, undefined);

    // Shared limits: the router starts with every limiter counting in Redis and serves as before.
    const limited = express().use('/connect', sharedLimits(client, { ...options, storage }, 'https://id.example.com/device'));
    assert.equal((await redeem(limited, await issue())).status, 200);
  } finally {
    const keys = [...(await client.keys('ete:*')), ...(await client.keys('ete-rl:*'))];
    if (keys.length > 0) await client.del(...keys);
    await storage.close();
    process.removeAllListeners('SIGTERM');
  }
  console.log('redis example: tokens through Redis; WAIT without a replica answered 500 and issued nothing; limits counted in Redis');
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
