// spec/endpoint/unexpected-errors.spec.ts
// `unexpectedErrors`: by default the router answers an unexpected failure itself (500
// server_error, logged); with 'next' the original error reaches the host's Express error handler
// (issue 17: errors never did). OAuth answers stay the router's either way.
import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { ConfigurationError, createMemoryClientRegistry, createMemoryStorage, createTokenRouter, type ClientRegistry, type TokenRouterOptions } from '../../lib';
import { basic, ISSUER, SERVICE_SECRET, TEST_CLIENTS } from '../helpers/create-app';
import { rsaKey } from '../helpers/keys';

const registryDown = new Error('registry down: connection refused');
const failingRegistry: ClientRegistry = { findClient: async () => { throw registryDown; } };

function host(options: Partial<TokenRouterOptions>) {
  const logged: string[] = [];
  const seen: unknown[] = [];
  const app = express();
  app.use('/connect', createTokenRouter({
    issuer: ISSUER,
    signingKeys: [{ kid: 'k', alg: 'RS256', privateKey: rsaKey().privateKey }],
    clients: failingRegistry,
    storage: createMemoryStorage(),
    logger: { warn: () => undefined, error: (message) => logged.push(message) },
    ...options,
  }));
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    seen.push(error);
    res.status(503).json({ error: 'temporarily_unavailable', error_description: 'The service is busy; try again.' });
  });
  return { app, logged, seen };
}

const tokenRequest = (app: express.Express) => request(app).post('/connect/token').set('Authorization', basic('service', SERVICE_SECRET)).type('form').send('grant_type=client_credentials');

describe('unexpectedErrors', () => {
  it("'respond' (default): the router answers 500 server_error; the host's handler never sees it", async () => {
    const { app, logged, seen } = host({});
    const res = await tokenRequest(app);
    expect(res.status).toBe(500);
    expect(res.body.error).toBe('server_error');
    expect(JSON.stringify(res.body)).not.toContain('registry down');
    expect(seen).toEqual([]);
    expect(logged).toEqual([expect.stringMatching(/answered server_error/)]);
  });

  it("'next': the original error reaches the host's error handler, which answers; it is still logged", async () => {
    const { app, logged, seen } = host({ unexpectedErrors: 'next' });
    const res = await tokenRequest(app);
    expect(res.status).toBe(503);
    expect(seen).toEqual([registryDown]);
    expect(logged).toEqual([expect.stringMatching(/passed to the host's error handler/)]);
  });

  it("'next': OAuth answers stay the router's (a client mistake never reaches the host's handler)", async () => {
    const { app, seen } = host({ unexpectedErrors: 'next', clients: createMemoryClientRegistry(TEST_CLIENTS) });
    const res = await request(app).post('/connect/token').set('Authorization', basic('service', 'wrong-secret-0123456789')).type('form').send('grant_type=client_credentials');
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
    const bad = await request(app).post('/connect/token').type('form').send('grant_type=client_credentials&grant_type=x');
    expect(bad.status).toBe(400);
    expect(seen).toEqual([]);
  });

  it('anything else is a ConfigurationError naming the option', () => {
    expect(() => host({ unexpectedErrors: 'throw' as never })).toThrow(ConfigurationError);
    expect(() => host({ unexpectedErrors: 'throw' as never })).toThrow(/unexpectedErrors must be 'respond'/);
  });
});
