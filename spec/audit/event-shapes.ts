// spec/audit/event-shapes.ts
// The documented event schema as data: one field table per event type, checked against the
// TypeScript interfaces at compile time (a field added to, removed from or retyped in an
// interface without updating this table fails `tsc`), and used at run time to validate every
// emitted event and the table in docs/events.md.
import type { ClientAuthFailureReason, GrantRevocationReason, ReplayDetection, TokenEndpointEvent, TokenEndpointEventOf, TokenEndpointEventType } from '../../lib';
import type { RateLimiterName } from '../../lib';

/** The JSON kinds an event field may have. */
export type FieldKind = 'string' | 'number' | 'boolean' | 'string[]';

type KindOf<T> = [T] extends [boolean] ? 'boolean' : [T] extends [string] ? 'string' : [T] extends [number] ? 'number' : [T] extends [readonly string[]] ? 'string[]' : never;
type OptionalKeys<E> = { [K in keyof E]-?: Record<string, never> extends Pick<E, K> ? K : never }[keyof E];

/** `'string'` for a required string field, `'string?'` for an optional one, and so on. */
export type FieldSpec = FieldKind | `${FieldKind}?`;

/** The field table of one event interface: every key, with its kind and optionality. */
export type EventShape<E> = { readonly [K in keyof E]-?: K extends OptionalKeys<E> ? `${KindOf<NonNullable<E[K]>>}?` : KindOf<E[K]> };

/** The documented shape of every event type. */
export const EVENT_SHAPES: { readonly [T in TokenEndpointEventType]: EventShape<TokenEndpointEventOf<T>> } = {
  'token.issued': {
    type: 'string',
    at: 'number',
    grantType: 'string',
    clientId: 'string',
    subject: 'string',
    jti: 'string',
    grantId: 'string?',
    scope: 'string[]',
    resources: 'string[]?',
    refreshTokenIssued: 'boolean',
    idTokenIssued: 'boolean',
  },
  'client.authentication_failed': { type: 'string', at: 'number', clientId: 'string?', reason: 'string', ip: 'string?' },
  'request.rejected': { type: 'string', at: 'number', error: 'string', grantType: 'string?', clientId: 'string?', ip: 'string?' },
  rate_limited: { type: 'string', at: 'number', clientId: 'string?', ip: 'string?', limiter: 'string' },
  'grant.revoked': { type: 'string', at: 'number', grantId: 'string', clientId: 'string', reason: 'string' },
  'token.revoked': { type: 'string', at: 'number', clientId: 'string', tokenType: 'string', jti: 'string?', grantId: 'string?' },
  'authorization_code.replayed': { type: 'string', at: 'number', grantId: 'string', clientId: 'string', detection: 'string', verified: 'boolean' },
  'refresh_token.reused': { type: 'string', at: 'number', grantId: 'string', clientId: 'string', sinceRotationMs: 'number' },
  'refresh_token.retry_served': { type: 'string', at: 'number', grantId: 'string', clientId: 'string', sinceRotationMs: 'number' },
  'device_code.approved': { type: 'string', at: 'number', grantId: 'string', clientId: 'string', subject: 'string' },
  'device_code.denied': { type: 'string', at: 'number', grantId: 'string', clientId: 'string' },
  'device_code.replayed': { type: 'string', at: 'number', grantId: 'string', clientId: 'string', detection: 'string' },
};

/** Every value of the closed reason unions (type-checked for equality in event-schema.spec.ts). */
export const CLIENT_AUTH_FAILURE_REASONS = [
  'missing_credentials',
  'unknown_client',
  'invalid_secret',
  'secret_sent_by_public_client',
  'auth_method_not_allowed',
  'invalid_client_assertion',
  'client_assertion_replayed',
  'invalid_client_certificate',
  'invalid_credentials',
] as const satisfies readonly ClientAuthFailureReason[];

export const REPLAY_DETECTIONS = ['already_consumed', 'lost_race'] as const satisfies readonly ReplayDetection[];

/** The reasons the library itself revokes with (the union is open to custom grants). */
export const GRANT_REVOCATION_REASONS = [
  'authorization_code_replay',
  'refresh_token_reuse',
  'session_ended',
  'device_code_replay',
  'revocation_request',
] as const satisfies readonly GrantRevocationReason[];

export const RATE_LIMITER_NAMES = [
  'rateLimit',
  'bruteForce.clientAuthFailures.perIp',
  'bruteForce.clientAuthFailures.perClientId',
  'bruteForce.clientAuthFailures.backoff',
  'bruteForce.grantFailures.perIp',
  'deviceCode.userCodeAttempts',
] as const satisfies readonly RateLimiterName[];

/** The names the library emits: `perClientId` stays in the type (listeners naming it compile) but the back-off replaced it. */
export const EMITTED_RATE_LIMITER_NAMES: readonly string[] = RATE_LIMITER_NAMES.filter((name) => name !== 'bruteForce.clientAuthFailures.perClientId');

/** Fields whose values come from a closed set, per event type. */
export const CLOSED_VALUES: { readonly [T in TokenEndpointEventType]?: Readonly<Record<string, readonly string[]>> } = {
  'client.authentication_failed': { reason: CLIENT_AUTH_FAILURE_REASONS },
  rate_limited: { limiter: EMITTED_RATE_LIMITER_NAMES },
  'authorization_code.replayed': { detection: REPLAY_DETECTIONS },
  'device_code.replayed': { detection: REPLAY_DETECTIONS },
  // Open for custom grants, but everything the built-in grants emit is one of these.
  'grant.revoked': { reason: GRANT_REVOCATION_REASONS },
  'token.revoked': { tokenType: ['access_token', 'refresh_token'] },
};

function kindOf(value: unknown): FieldKind | 'other' {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'number') return Number.isFinite(value) ? 'number' : 'other';
  if (typeof value === 'boolean') return 'boolean';
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return 'string[]';
  return 'other';
}

/** What is wrong with `event` against the documented shape (empty when it conforms). */
export function shapeProblems(event: TokenEndpointEvent): string[] {
  const record = event as unknown as Readonly<Record<string, unknown>>;
  const shape = (EVENT_SHAPES as Readonly<Record<string, Readonly<Record<string, FieldSpec>> | undefined>>)[String(record.type)];
  if (!shape) return [`unknown event type ${JSON.stringify(record.type)}`];
  const problems: string[] = [];
  for (const [field, spec] of Object.entries(shape)) {
    const optional = spec.endsWith('?');
    const kind = (optional ? spec.slice(0, -1) : spec) as FieldKind;
    const value = record[field];
    if (value === undefined) {
      if (!optional) problems.push(`${event.type}: required field ${field} is missing`);
      continue;
    }
    if (kindOf(value) !== kind) problems.push(`${event.type}: ${field} should be ${kind}, got ${JSON.stringify(value)}`);
  }
  for (const field of Object.keys(record)) {
    if (!(field in shape)) problems.push(`${event.type}: undocumented field ${field}`);
  }
  for (const [field, allowed] of Object.entries(CLOSED_VALUES[event.type] ?? {})) {
    if (!allowed.includes(record[field] as string)) problems.push(`${event.type}: ${field} ${JSON.stringify(record[field])} is not one of ${allowed.join(', ')}`);
  }
  return problems;
}
