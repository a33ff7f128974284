// lib/opentelemetry/load-api.ts
// Loads the optional peer @opentelemetry/api when openTelemetry() is called (never at import),
// with a clear error when it is not installed.
import { ConfigurationError } from '../contracts/errors';

/** The @opentelemetry/api module. */
export type OpenTelemetryApi = typeof import('@opentelemetry/api');

const INSTALL_HINT = 'install the optional peer dependency @opentelemetry/api@1 (npm install @opentelemetry/api)';

/** Loads @opentelemetry/api through `load` (Node's `require` by default), with a clear error when it is missing. */
export function loadApi(load: (id: string) => unknown = require): OpenTelemetryApi {
  let api: unknown;
  try {
    api = load('@opentelemetry/api');
  } catch (error) {
    const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
    if (code === 'MODULE_NOT_FOUND' && typeof message === 'string' && message.split('\n')[0].includes('@opentelemetry/api')) {
      throw new ConfigurationError('ERR_TOKEN_ROUTER_OPTIONS', [`openTelemetry: @opentelemetry/api is not installed: ${INSTALL_HINT}.`]);
    }
    throw error;
  }
  const candidate = api as Partial<OpenTelemetryApi> | null;
  if (typeof candidate?.trace?.getTracerProvider !== 'function' || typeof candidate.metrics?.getMeterProvider !== 'function' || typeof candidate.context?.with !== 'function') {
    throw new ConfigurationError('ERR_TOKEN_ROUTER_OPTIONS', [`openTelemetry: require('@opentelemetry/api') did not return the OpenTelemetry API; ${INSTALL_HINT}.`]);
  }
  return api as OpenTelemetryApi;
}
