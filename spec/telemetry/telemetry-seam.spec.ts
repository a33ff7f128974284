// spec/telemetry/telemetry-seam.spec.ts
// The `telemetry` option as a seam: checked at creation, every hook call contained (a throwing
// hook never fails a request and is logged once), and with the option absent nothing of it runs:
// no wrapper around storage or signing, no global OpenTelemetry provider consulted.
import { metrics, trace, type MeterProvider, type TracerProvider } from '@opentelemetry/api';
import request from 'supertest';
import { ConfigurationError, createMemoryStorage, type OperationTelemetry, type RequestOutcome, type RequestTelemetry, type StorageAdapter, type TelemetryHooks, type TokenEndpointEvent } from '../../lib';
import { openTelemetry } from '../../lib/opentelemetry';
import { loadApi } from '../../lib/opentelemetry/load-api';
import { redeem } from '../helpers/code-flow';
import { basic, createCodeTestApp, createTestApp, SERVICE_SECRET, WEB_REDIRECT, type TestApp } from '../helpers/create-app';

const WEB = { id: 'web', secret: SERVICE_SECRET };

const tokenRequest = (app: TestApp['app'], secret = SERVICE_SECRET) =>
  request(app).post('/connect/token').set('Authorization', basic('service', secret)).type('form').send({ grant_type: 'client_credentials', scope: 'api:read' });

/** Records every hook call; `faults` makes chosen hooks throw. */
function recordingHooks(faults: ReadonlySet<string> = new Set()) {
  const calls: string[] = [];
  const outcomes: RequestOutcome[] = [];
  const fail = (name: string) => {
    calls.push(name);
    if (faults.has(name)) throw new Error(`hook ${name} failed`);
  };
  const scope = (kind: string): OperationTelemetry => ({
    run: (work) => {
      fail(`${kind}.run:before`);
      const result = work();
      fail(`${kind}.run:after`);
      return result;
    },
    end: () => fail(`${kind}.end`),
  });
  const hooks: TelemetryHooks = {
    request: (start): RequestTelemetry => {
      fail(`request:${start.endpoint}`);
      const inner = scope('request');
      return { run: inner.run, end: (outcome) => { outcomes.push(outcome); fail('request.end'); } };
    },
    storage: (operation) => {
      fail(`storage:${operation}`);
      return scope('storage');
    },
    signing: (start) => {
      fail(`signing:${start.typ}`);
      return scope('signing');
    },
    event: (event: TokenEndpointEvent) => fail(`event:${event.type}`),
  };
  return { hooks, calls, outcomes };
}

describe('the telemetry option is checked once, at creation', () => {
  it.each([
    ['an empty object', {}],
    ['true', true],
    ['hooks without event()', { request() {}, storage() {}, signing() {} }],
  ])('refuses %s with a ConfigurationError naming the option', (_label, value) => {
    expect(() => createTestApp({ telemetry: value as never })).toThrow(ConfigurationError);
    expect(() => createTestApp({ telemetry: value as never })).toThrow(/telemetry must be TelemetryHooks .*openTelemetry\(\)/);
  });

  it('openTelemetry() refuses options that are not providers, and unknown options', () => {
    expect(() => openTelemetry({ tracerProvider: {} as TracerProvider })).toThrow(/openTelemetry: tracerProvider must be an OpenTelemetry TracerProvider/);
    expect(() => openTelemetry({ meterProvider: { getMeter: 1 } as unknown as MeterProvider })).toThrow(/openTelemetry: meterProvider must be an OpenTelemetry MeterProvider/);
    expect(() => openTelemetry({ tracer: {} } as never)).toThrow(/Unknown option "openTelemetry.tracer"/);
    expect(() => openTelemetry(null as never)).toThrow(ConfigurationError);
  });

  it('without @opentelemetry/api installed, openTelemetry() says what to install', () => {
    const missing = () => {
      throw Object.assign(new Error("Cannot find module '@opentelemetry/api'\nRequire stack:\n- x"), { code: 'MODULE_NOT_FOUND' });
    };
    expect(() => loadApi(missing)).toThrow(/@opentelemetry\/api is not installed: install the optional peer dependency @opentelemetry\/api@1/);
    expect(() => loadApi(() => ({}))).toThrow(/did not return the OpenTelemetry API/);
    // Any other loading failure is not disguised.
    expect(() => loadApi(() => { throw new SyntaxError('broken install'); })).toThrow(SyntaxError);
  });
});

describe('hook calls', () => {
  it('a request: request scope first, storage and signing inside it, events, then end with the outcome', async () => {
    const { hooks, calls, outcomes } = recordingHooks();
    const harness = createTestApp({ telemetry: hooks });
    expect((await tokenRequest(harness.app)).status).toBe(200);
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls[0]).toBe('request:token');
    expect(calls[1]).toBe('request.run:before');
    expect(calls).toContain('signing:at+jwt');
    expect(calls).toContain('event:token.issued');
    expect(calls.at(-1)).toBe('request.end');
    expect(calls.filter((call) => call === 'request.run:before')).toHaveLength(1);
    expect(outcomes).toEqual([{ outcome: 'success', status: 200, grantType: 'client_credentials', clientId: 'service', clientAuthenticated: true, error: undefined }]);
  });

  it.each([
    'request:token',
    'request.run:before',
    'request.run:after',
    'request.end',
    'signing:at+jwt',
    'signing.run:before',
    'signing.run:after',
    'signing.end',
    'event:token.issued',
  ])('a hook that throws (%s) never fails the request, and is logged once', async (fault) => {
    const { hooks } = recordingHooks(new Set([fault]));
    const harness = createTestApp({ telemetry: hooks });
    for (let i = 0; i < 3; i += 1) {
      const res = await tokenRequest(harness.app);
      expect(res.status).toBe(200);
      expect(res.body.token_type).toBe('Bearer');
    }
    await new Promise((resolve) => setImmediate(resolve));
    const errors = harness.logged.filter((entry) => entry.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toMatch(/telemetry hook .* threw; requests are unaffected/);
    expect(errors[0].details?.errorMessage).toBe(`hook ${fault} failed`);
  });

  it.each(['storage:consumeAuthorizationCode', 'storage.run:before', 'storage.run:after', 'storage.end'])('a storage hook that throws (%s): the storage call runs exactly once and its answer is used', async (fault) => {
    const { hooks } = recordingHooks(new Set([fault]));
    let consumed = 0;
    const harness = createCodeTestApp((clock) => ({ telemetry: hooks, storage: observedStorage(clock, { consumeAuthorizationCode: () => { consumed += 1; } }) }));
    const minted = await harness.tokenRouter.issueAuthorizationCode({ clientId: 'web', redirectUri: WEB_REDIRECT, scope: 'openid', subject: 'user-1' });
    const res = await redeem(harness.app, { code: minted.code, redirect_uri: WEB_REDIRECT }, WEB);
    expect(res.status).toBe(200);
    expect(res.body.id_token).toEqual(expect.any(String));
    expect(consumed).toBe(1);
    expect(harness.logged.filter((entry) => entry.level === 'error')).toHaveLength(1);
  });

  it('a failing storage call is still answered 500 (and logged as such) when a storage hook throws too', async () => {
    const { hooks } = recordingHooks(new Set(['storage.end']));
    const harness = createCodeTestApp((clock) => ({ telemetry: hooks, storage: observedStorage(clock, { consumeAuthorizationCode: () => { throw new Error('database is down'); } }) }));
    const minted = await harness.tokenRouter.issueAuthorizationCode({ clientId: 'web', redirectUri: WEB_REDIRECT, scope: 'openid', subject: 'user-1' });
    const res = await redeem(harness.app, { code: minted.code, redirect_uri: WEB_REDIRECT }, WEB);
    expect(res.status).toBe(500);
    expect(res.body.error).toBe('server_error');
    const errors = harness.logged.filter((entry) => entry.level === 'error');
    expect(errors.map((entry) => entry.details?.errorMessage).sort()).toEqual(['database is down', 'hook storage.end failed']);
  });
});

/** A memory storage that runs `probes` before the methods they name (a probe may throw). */
function observedStorage(clock: () => number, probes: Partial<Record<keyof StorageAdapter, () => void>>): StorageAdapter {
  const storage = createMemoryStorage({ clock });
  const observed = Object.create(storage) as StorageAdapter;
  for (const [name, probe] of Object.entries(probes)) {
    const method = storage[name as keyof StorageAdapter] as (...args: unknown[]) => unknown;
    Object.assign(observed, { [name]: async (...args: unknown[]) => { probe(); return method.apply(storage, args); } });
  }
  return observed;
}

describe('telemetry off', () => {
  afterEach(() => {
    trace.disable();
    metrics.disable();
  });

  it('never consults the global OpenTelemetry providers (a registered SDK is not picked up implicitly)', async () => {
    const touched: string[] = [];
    const throwing = <T extends object>(name: string) => new Proxy({} as T, {
      get(_target, property) {
        touched.push(`${name}.${String(property)}`);
        throw new Error(`${name} must not be used`);
      },
    });
    trace.setGlobalTracerProvider(throwing<TracerProvider>('tracerProvider'));
    metrics.setGlobalMeterProvider(throwing<MeterProvider>('meterProvider'));
    const harness = createTestApp();
    expect((await tokenRequest(harness.app)).status).toBe(200);
    expect((await tokenRequest(harness.app, 'wrong-secret-0123456789abcdef')).status).toBe(401);
    expect(touched).toEqual([]);
  });

  it('storage methods are called directly, with no telemetry frame on the stack (and with telemetry, through one)', async () => {
    const stacksOf = async (telemetry: TelemetryHooks | undefined) => {
      const stacks: string[] = [];
      const harness = createCodeTestApp((clock) => ({ ...(telemetry && { telemetry }), storage: observedStorage(clock, { consumeAuthorizationCode: () => { stacks.push(new Error('probe').stack ?? ''); } }) }));
      const minted = await harness.tokenRouter.issueAuthorizationCode({ clientId: 'web', redirectUri: WEB_REDIRECT, scope: 'openid', subject: 'user-1' });
      expect((await redeem(harness.app, { code: minted.code, redirect_uri: WEB_REDIRECT }, WEB)).status).toBe(200);
      expect(stacks).toHaveLength(1);
      return stacks[0];
    };
    expect(await stacksOf(undefined)).not.toContain('router-telemetry');
    expect(await stacksOf(recordingHooks().hooks)).toContain('router-telemetry');
  });
});
