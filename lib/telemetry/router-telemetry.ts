// lib/telemetry/router-telemetry.ts
// The router's side of the telemetry seam (the `telemetry` option): request scopes as Express
// middleware, storage methods and the JWT signer wrapped once at createTokenRouter, events passed
// on. Created only when the option is set: without it nothing here runs or is allocated.
// Every call into the host's hooks is contained: a hook that throws is logged once per router and
// the request goes on as if telemetry were off for that span.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TokenEndpointEvent } from '../contracts/events';
import { STORAGE_METHODS } from '../contracts/grant';
import type { Logger } from '../contracts/logger';
import type { StorageAdapter } from '../contracts/storage';
import type { RequestOutcome, TelemetryHooks, TelemetryScope } from '../contracts/telemetry';
import { eventText } from '../internal/event-text';
import { describeError } from '../internal/logger';
import type { SignJwt } from '../tokens/jwt';

/** What the router learns about a request while it runs (client, error), keyed by the request. */
interface RequestFacts {
  clientId: string | undefined;
  clientAuthenticated: boolean;
  error: string | undefined;
}

/** The router's telemetry, built from the host's hooks by {@link createRouterTelemetry}. */
export interface RouterTelemetry {
  /**
   * Middleware starting the request's scope (first in the route's chain) and ending it when the
   * response is sent or the connection closes. `grantTypeOf` reads the grant type (after parsing).
   */
  requestScope<Req extends IncomingMessage & { readonly baseUrl?: string }>(path: string, grantTypeOf: (req: Req) => string | undefined): (req: Req, res: ServerResponse, next: () => void) => void;
  /** The request's client: authenticated, or the id an authentication failure claimed. */
  noteClient(req: IncomingMessage, clientId: string | undefined, authenticated: boolean): void;
  /** The OAuth error code the request is answered with. */
  noteError(req: IncomingMessage, error: string): void;
  /** The storage adapter with every method wrapped (looked up on each call, as the views do). */
  instrumentStorage(storage: Partial<StorageAdapter> | undefined): Partial<StorageAdapter> | undefined;
  /** The JWT signer wrapped in a signing scope. */
  instrumentSigner(sign: SignJwt): SignJwt;
  /** Passes an event on to the hooks. */
  event(event: TokenEndpointEvent): void;
}

/** Wraps the host's hooks; `logger` gets the first hook failure. */
export function createRouterTelemetry(hooks: TelemetryHooks, logger: Logger): RouterTelemetry {
  let reported = false;
  const report = (hook: string, error: unknown): void => {
    if (reported) return;
    reported = true;
    logger.error(`A telemetry hook (${hook}) threw; requests are unaffected. Further telemetry failures of this router are not logged.`, { hook, ...describeError(error) });
  };
  /** Calls a hook, or reports it and answers undefined. */
  const attempt = <T>(hook: string, call: () => T): T | undefined => {
    try {
      return call();
    } catch (error) {
      report(hook, error);
      return undefined;
    }
  };

  /**
   * Runs `work` inside `scope`. A failure of the scope (before or after the work) is reported and
   * the work still runs exactly once; a failure of the work propagates unchanged.
   */
  function runIn<T>(hook: string, scope: TelemetryScope, work: () => T): T {
    // Asserted, not inferred: TypeScript cannot see the assignments inside the callback.
    let state = 'pending' as 'pending' | 'running' | 'done';
    let result: T | undefined;
    try {
      scope.run(() => {
        state = 'running';
        result = work();
        state = 'done';
        return result;
      });
    } catch (error) {
      if (state === 'running') throw error;
      report(`${hook}.run`, error);
    }
    // The hook did not call the work (it threw first, or is faulty): run it now, once.
    if (state === 'pending') return work();
    return result as T;
  }

  const requests = new WeakMap<IncomingMessage, RequestFacts>();

  function operation<T>(hook: 'storage' | 'signing', start: () => ReturnType<TelemetryHooks['storage']>, work: () => T): T {
    const scope = attempt(hook, start);
    if (scope === undefined) return work();
    const end = (failed: boolean) => attempt(`${hook}.end`, () => scope.end(failed));
    let result: T;
    try {
      result = runIn(hook, scope, work);
    } catch (error) {
      end(true);
      throw error;
    }
    if (isPromiseLike(result)) {
      // Storage methods answer promises: the scope ends when the promise settles.
      return Promise.resolve(result).then(
        (value) => {
          end(false);
          return value;
        },
        (error: unknown) => {
          end(true);
          throw error;
        },
      ) as T;
    }
    end(false);
    return result;
  }

  return {
    requestScope(path, grantTypeOf) {
      const endpoint = path.slice(1);
      return (req, res, next) => {
        const scope = attempt('request', () => hooks.request({ endpoint, route: `${req.baseUrl ?? ''}${path}` }));
        if (scope === undefined) {
          next();
          return;
        }
        const facts: RequestFacts = { clientId: undefined, clientAuthenticated: false, error: undefined };
        requests.set(req, facts);
        res.once('close', () => {
          const status = res.statusCode;
          const sent = res.writableFinished;
          const outcome: RequestOutcome = {
            outcome: !sent ? 'aborted' : status >= 400 ? 'error' : 'success',
            status,
            grantType: attempt('request', () => grantTypeOf(req)),
            clientId: facts.clientId,
            clientAuthenticated: facts.clientAuthenticated,
            error: status >= 400 && sent ? (facts.error ?? (status >= 500 ? 'server_error' : undefined)) : undefined,
          };
          attempt('request.end', () => scope.end(outcome));
        });
        runIn('request', scope, next);
      };
    },
    noteClient(req, clientId, authenticated) {
      const facts = requests.get(req);
      if (facts === undefined) return;
      facts.clientId = eventText(clientId);
      facts.clientAuthenticated = authenticated && facts.clientId !== undefined;
    },
    noteError(req, error) {
      const facts = requests.get(req);
      if (facts !== undefined) facts.error = error;
    },
    instrumentStorage(storage) {
      if (storage === undefined || storage === null || typeof storage !== 'object') return storage;
      const adapter: Record<string, (...args: unknown[]) => unknown> = Object.create(null);
      const target = storage as Record<string, unknown>;
      for (const method of STORAGE_METHODS) {
        if (typeof target[method] !== 'function') continue;
        // Looked up on each call, like the grants' storage views: an adapter may replace a method at run time.
        adapter[method] = (...args: unknown[]) => operation('storage', () => hooks.storage(method), () => (target[method] as (...a: unknown[]) => unknown).apply(storage, args));
      }
      return adapter as Partial<StorageAdapter>;
    },
    instrumentSigner(sign) {
      return (payload, key, typ) => operation('signing', () => hooks.signing({ alg: key.alg, kid: key.kid, typ }), () => sign(payload, key, typ));
    },
    event(event) {
      attempt('event', () => hooks.event(event));
    },
  };
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
