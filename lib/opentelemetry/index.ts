// lib/opentelemetry/index.ts
// `express-token-endpoint/opentelemetry`: the router's telemetry seam implemented on
// @opentelemetry/api (an optional peer dependency, loaded only when openTelemetry() is called:
// the main entry never loads it, and this module loads without it).
//
//   createTokenRouter({ ..., telemetry: openTelemetry() })
//
// Spans: one per request at /token and at every contributed endpoint (device authorization,
// revocation, introspection), with children for storage calls and JWT signing. Metrics: requests
// and their duration by endpoint, grant type and outcome; storage call duration; limiter hits;
// replay and reuse detections. See docs/observability.md.
import type { Attributes, Counter, Histogram, MeterProvider, Span, TracerProvider } from '@opentelemetry/api';
import { ConfigurationError } from '../contracts/errors';
import type { TokenEndpointEvent } from '../contracts/events';
import type { OperationTelemetry, RequestOutcome, RequestTelemetry, TelemetryHooks } from '../contracts/telemetry';
import { checkKeys, isPlainObject } from '../options/checks';
import { loadApi, type OpenTelemetryApi } from './load-api';


/** The instrumentation scope name of the tracer and meter. */
export const INSTRUMENTATION_NAME = 'express-token-endpoint';

/** Options of {@link openTelemetry}. */
export interface OpenTelemetryOptions {
  /**
   * Where spans go. Defaults to the global tracer provider (`trace.getTracerProvider()`, the one
   * the OpenTelemetry SDK registers, e.g. `NodeSDK.start()`); without a registered SDK spans are
   * no-ops. Child spans (storage, signing) nest under the request span through the active context:
   * register a context manager (the Node SDK does; with a bare `BasicTracerProvider`, register an
   * `AsyncLocalStorageContextManager`), or they start new traces.
   */
  tracerProvider?: TracerProvider;
  /** Where metrics go. Defaults to the global meter provider (`metrics.getMeterProvider()`); without one, metrics are no-ops. */
  meterProvider?: MeterProvider;
}

// Request latency buckets in seconds (the HTTP semantic conventions' boundaries, from 1 ms).
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10];
// Storage calls are often sub-millisecond (memory, a local Redis): finer buckets.
const STORAGE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * The `telemetry` option of `createTokenRouter`, on OpenTelemetry: spans and metrics for every
 * request of the router. Needs `@opentelemetry/api` (1.7 or later) installed; throws a
 * ConfigurationError saying so otherwise, or when an option is not a provider.
 *
 * What is recorded never includes a client secret, token, code, assertion or DPoP proof: span
 * attributes are the endpoint, route, status, grant type, client id, outcome and OAuth error code;
 * metric attributes leave out the client id (unbounded cardinality).
 *
 * @example
 * import { openTelemetry } from 'express-token-endpoint/opentelemetry';
 * const tokenRouter = createTokenRouter({ ...options, telemetry: openTelemetry() });
 */
export function openTelemetry(options: OpenTelemetryOptions = {}): TelemetryHooks {
  const problems: string[] = [];
  if (!isPlainObject(options)) problems.push('openTelemetry(options): options must be an object { tracerProvider?, meterProvider? }.');
  else {
    checkKeys(options, 'openTelemetry', ['tracerProvider', 'meterProvider'], problems);
    if (!isProvider(options.tracerProvider, 'getTracer')) problems.push('openTelemetry: tracerProvider must be an OpenTelemetry TracerProvider (with getTracer), e.g. a BasicTracerProvider or NodeTracerProvider.');
    if (!isProvider(options.meterProvider, 'getMeter')) problems.push('openTelemetry: meterProvider must be an OpenTelemetry MeterProvider (with getMeter), e.g. the SDK\'s MeterProvider.');
  }
  if (problems.length > 0) throw new ConfigurationError('ERR_TOKEN_ROUTER_OPTIONS', problems);
  return createHooks(loadApi(), options);
}

/** Absent, or an object with the provider's factory method. */
function isProvider(value: unknown, method: string): boolean {
  return value === undefined || (typeof value === 'object' && value !== null && typeof (value as Record<string, unknown>)[method] === 'function');
}

function createHooks(api: OpenTelemetryApi, options: OpenTelemetryOptions): TelemetryHooks {
  const { context, trace, SpanKind, SpanStatusCode, ValueType } = api;
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_NAME);
  const meter = (options.meterProvider ?? api.metrics.getMeterProvider()).getMeter(INSTRUMENTATION_NAME);
  const requests: Counter = meter.createCounter('oauth.requests', { description: 'Requests answered by the token router, by endpoint, grant type, outcome and OAuth error.', unit: '{request}', valueType: ValueType.INT });
  const requestDuration: Histogram = meter.createHistogram('oauth.request.duration', { description: 'Duration of requests at the token router\'s endpoints, until the answer was sent.', unit: 's', advice: { explicitBucketBoundaries: REQUEST_BUCKETS } });
  const storageDuration: Histogram = meter.createHistogram('oauth.storage.duration', { description: 'Duration of storage adapter calls.', unit: 's', advice: { explicitBucketBoundaries: STORAGE_BUCKETS } });
  const rateLimited: Counter = meter.createCounter('oauth.rate_limited', { description: 'Requests refused by a limiter (429), by limiter.', unit: '{request}', valueType: ValueType.INT });
  const replays: Counter = meter.createCounter('oauth.replay_detected', { description: 'Replayed codes, reused refresh tokens and replayed client assertions, by kind.', unit: '{detection}', valueType: ValueType.INT });

  /** Runs `work` with `span` active. */
  const runner = (span: Span) => {
    const active = trace.setSpan(context.active(), span);
    return <T>(work: () => T): T => context.with(active, work);
  };

  const operation = (name: string, attributes: Attributes, histogram: Histogram | undefined): OperationTelemetry => {
    const span = tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes });
    const started = performance.now();
    return {
      run: runner(span),
      end(failed) {
        if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
        histogram?.record((performance.now() - started) / 1000, { ...attributes, 'oauth.outcome': failed ? 'error' : 'success' });
      },
    };
  };

  return {
    request({ endpoint, route }): RequestTelemetry {
      const span = tracer.startSpan(`oauth.${endpoint}`, { kind: SpanKind.INTERNAL, attributes: { 'oauth.endpoint': endpoint, 'http.route': route } });
      const started = performance.now();
      return {
        run: runner(span),
        end(outcome) {
          const attributes = outcomeAttributes(endpoint, outcome);
          span.setAttributes(attributes);
          span.setAttribute('http.response.status_code', outcome.status);
          if (outcome.clientId !== undefined) {
            span.setAttribute('oauth.client_id', outcome.clientId);
            span.setAttribute('oauth.client_authenticated', outcome.clientAuthenticated);
          }
          // OpenTelemetry HTTP semantic conventions (server side): a 4xx is the client's error, not
          // the span's; only 5xx (and an aborted request) mark the span as failed.
          if (outcome.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error ?? 'server_error' });
          else if (outcome.outcome === 'aborted') span.setStatus({ code: SpanStatusCode.ERROR, message: 'The connection closed before the answer was sent.' });
          span.end();
          requests.add(1, attributes);
          requestDuration.record((performance.now() - started) / 1000, attributes);
        },
      };
    },
    storage(operationName) {
      return operation(`oauth.storage ${operationName}`, { 'oauth.storage.operation': operationName }, storageDuration);
    },
    signing({ alg, kid, typ }) {
      return operation('oauth.sign', { 'oauth.signing.alg': alg, 'oauth.signing.kid': kid, 'oauth.signing.typ': typ }, undefined);
    },
    event(event) {
      if (event.type === 'rate_limited') rateLimited.add(1, { 'oauth.limiter': event.limiter });
      const kind = replayKind(event);
      if (kind !== undefined) replays.add(1, { 'oauth.replay.kind': kind });
    },
  };
}

/** The attributes a request's span and metrics share (no client id: metrics would grow without bound). */
function outcomeAttributes(endpoint: string, outcome: RequestOutcome): Attributes {
  const attributes: Attributes = { 'oauth.endpoint': endpoint, 'oauth.outcome': outcome.outcome };
  if (outcome.grantType !== undefined) attributes['oauth.grant_type'] = outcome.grantType;
  if (outcome.error !== undefined) attributes['oauth.error'] = outcome.error;
  return attributes;
}

/** The kind of replay an event reports, if it reports one. */
function replayKind(event: TokenEndpointEvent): string | undefined {
  switch (event.type) {
    case 'authorization_code.replayed':
      return 'authorization_code';
    case 'refresh_token.reused':
      return 'refresh_token';
    case 'device_code.replayed':
      return 'device_code';
    case 'client.authentication_failed':
      return event.reason === 'client_assertion_replayed' ? 'client_assertion' : undefined;
    default:
      return undefined;
  }
}
