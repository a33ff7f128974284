// spec/audit/event-schema.spec.ts
// The event schema as a versioned contract: EVENT_TYPES is exactly the union's `type`s (checked by
// the compiler), the closed reason unions match the tables the audit specs validate against, and
// the events page (docs/events.md) documents every type and field in its table.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_SCHEMA_VERSION, EVENT_TYPES, type ClientAuthFailureReason, type GrantRevocationReason, type ReplayDetection, type TokenEndpointEventType } from '../../lib';
import type { RateLimiterName } from '../../lib';
import { CLIENT_AUTH_FAILURE_REASONS, CLOSED_VALUES, EVENT_SHAPES, GRANT_REVOCATION_REASONS, RATE_LIMITER_NAMES, REPLAY_DETECTIONS } from './event-shapes';

/** True when A and B are the same type (not merely mutually assignable through `any`). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Compiles only when its type argument is `true`. */
function assertType<T extends true>(_proof: T): void {}

describe('event schema', () => {
  it('EVENT_TYPES lists exactly the members of the TokenEndpointEvent union (type-level)', () => {
    assertType<Equal<(typeof EVENT_TYPES)[number], TokenEndpointEventType>>(true);
    assertType<Equal<keyof typeof EVENT_SHAPES, TokenEndpointEventType>>(true);
    expect(new Set(EVENT_TYPES).size).toBe(EVENT_TYPES.length);
    expect(Object.keys(EVENT_SHAPES).sort()).toEqual([...EVENT_TYPES].sort());
  });

  it('the closed reason unions match the value tables (type-level)', () => {
    assertType<Equal<(typeof CLIENT_AUTH_FAILURE_REASONS)[number], ClientAuthFailureReason>>(true);
    assertType<Equal<(typeof REPLAY_DETECTIONS)[number], ReplayDetection>>(true);
    assertType<Equal<(typeof GRANT_REVOCATION_REASONS)[number], GrantRevocationReason>>(true);
    assertType<Equal<(typeof RATE_LIMITER_NAMES)[number], RateLimiterName>>(true);
  });

  it('is versioned and immutable at run time', () => {
    // 2: ClientAuthFailureReason gained invalid_client_assertion, client_assertion_replayed,
    // invalid_client_certificate and invalid_credentials (issue 15: JWT, mTLS and host methods).
    expect(EVENT_SCHEMA_VERSION).toBe(2);
    expect(Object.isFrozen(EVENT_TYPES)).toBe(true);
  });

  it('every event has `type` and `at`', () => {
    for (const type of EVENT_TYPES) {
      expect([type, EVENT_SHAPES[type].type, EVENT_SHAPES[type].at]).toEqual([type, 'string', 'number']);
    }
  });

  describe('docs/events.md, the event table', () => {
    const page = readFileSync(join(__dirname, '..', '..', 'docs', 'events.md'), 'utf8');
    const start = page.indexOf('# Events\n');
    const section = page.slice(start);
    // Table rows of the event table: | `type` | fields … |
    const rows = new Map<string, string>();
    for (const line of section.split('\n')) {
      const match = /^\| `([a-z_.]+)` \| (.*) \|$/.exec(line);
      if (match) rows.set(match[1], match[2]);
    }

    it('has one table row per event type and none for types that do not exist', () => {
      expect(start).toBeGreaterThan(-1);
      expect([...rows.keys()].sort()).toEqual([...EVENT_TYPES].sort());
    });

    it('names every field of every event, `?` marking exactly the optional ones', () => {
      const problems: string[] = [];
      for (const type of EVENT_TYPES) {
        const row = rows.get(type) ?? '';
        for (const [field, spec] of Object.entries(EVENT_SHAPES[type])) {
          if (field === 'type' || field === 'at') continue;
          const documented = spec.endsWith('?') ? `\`${field}?\`` : `\`${field}\``;
          if (!row.includes(documented)) problems.push(`${type}: ${documented}`);
        }
        for (const [field, values] of Object.entries(CLOSED_VALUES[type] ?? {})) {
          for (const value of values) if (!row.includes(`\`${value}\``)) problems.push(`${type}: ${field} value \`${value}\``);
        }
      }
      expect(problems).toEqual([]);
    });

    it('states the schema version and that every event has `type` and `at`', () => {
      expect(section).toContain(`EVENT_SCHEMA_VERSION\` is \`${EVENT_SCHEMA_VERSION}\``);
      expect(section).toMatch(/every event has `type`.*`at`/i);
    });
  });
});
