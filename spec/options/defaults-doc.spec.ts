// spec/options/defaults-doc.spec.ts
// Each default is written once, in lib/options/defaults.ts; the TSDoc that tells users the value
// must agree with it. This reads the "Defaults to …" sentence of each documented option.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { DEFAULTS } from '../../lib/options/defaults';

/** `Interface.property` → the TSDoc text of that property. */
function docsOf(file: string): Map<string, string> {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const docs = new Map<string, string>();
  source.forEachChild((node) => {
    if (!ts.isInterfaceDeclaration(node)) return;
    for (const member of node.members) {
      if (!ts.isPropertySignature(member) || !ts.isIdentifier(member.name)) continue;
      const text = ts.getJSDocCommentsAndTags(member).map((doc) => doc.getText()).join(' ');
      docs.set(`${node.name.text}.${member.name.text}`, text.replace(/\s*\*\s*/g, ' '));
    }
  });
  return docs;
}

/** The number after "Defaults to", spaces between digit groups removed. */
function documentedDefault(doc: string | undefined): string | undefined {
  const match = /Defaults to (`?)([\d ]+\d|\d|false|true)\1/.exec(doc ?? '');
  return match?.[2].replace(/ /g, '');
}

const LIB = join(__dirname, '..', '..', 'lib');
const OPTIONS = join(LIB, 'options', 'types.ts');
const DISCOVERY = join(LIB, 'contracts', 'discovery.ts');
const GRANT_OPTIONS = [join(LIB, 'grants', 'authorization-code', 'settings.ts'), join(LIB, 'grants', 'device-code', 'settings.ts'), join(LIB, 'grants', 'refresh-token', 'grant.ts'), join(LIB, 'resource-server', 'types.ts')];

describe('defaults are written once: TSDoc agrees with lib/options/defaults.ts', () => {
  const docs = new Map([...docsOf(OPTIONS), ...docsOf(DISCOVERY), ...GRANT_OPTIONS.flatMap((file) => [...docsOf(file)])]);
  it.each<[string, unknown]>([
    ['AccessTokenOptions.ttl', DEFAULTS.accessTokenTtl],
    ['IdTokenOptions.ttl', DEFAULTS.idTokenTtl],
    ['TokenRouterOptions.maxBodyBytes', DEFAULTS.maxBodyBytes],
    ['DiscoveryOptions.maxAgeSeconds', DEFAULTS.discoveryMaxAgeSeconds],
    ['ClientAuthenticationOptions.enforceRegisteredMethod', DEFAULTS.enforceRegisteredMethod],
    ['JwksFetchOptions.timeoutMs', DEFAULTS.jwks.timeoutMs],
    ['JwksFetchOptions.maxBytes', DEFAULTS.jwks.maxBytes],
    ['JwksFetchOptions.cacheTtlSeconds', DEFAULTS.jwks.cacheTtlSeconds],
    ['JwksFetchOptions.minRefetchIntervalSeconds', DEFAULTS.jwks.minRefetchIntervalSeconds],
    ['JwksFetchOptions.staleIfErrorSeconds', DEFAULTS.jwks.staleIfErrorSeconds],
    ['JwksFetchOptions.maxCachedUris', DEFAULTS.jwks.maxCachedUris],
    ['ClientAuthFailureLimits.perIp', DEFAULTS.clientAuthFailures.perIp],
    ['ClientAuthBackoff.afterFailures', DEFAULTS.clientAuthFailures.backoff.afterFailures],
    ['ClientAuthBackoff.baseMs', DEFAULTS.clientAuthFailures.backoff.baseMs],
    ['ClientAuthBackoff.maxMs', DEFAULTS.clientAuthFailures.backoff.maxMs],
    ['ClientAuthFailureLimits.windowMs', DEFAULTS.clientAuthFailures.windowMs],
    ['GrantFailureLimits.perIp', DEFAULTS.grantFailures.perIp],
    ['GrantFailureLimits.windowMs', DEFAULTS.grantFailures.windowMs],
    ['AuthorizationCodeOptions.codeTtl', DEFAULTS.codeTtl],
    ['AuthorizationCodeOptions.allowPlainPkce', DEFAULTS.allowPlainPkce],
    ['AuthorizationCodeOptions.requirePkceForConfidentialClients', DEFAULTS.requirePkceForConfidentialClients],
    ['DeviceCodeOptions.expiresIn', DEFAULTS.deviceExpiresIn],
    ['DeviceCodeOptions.interval', DEFAULTS.deviceInterval],
    ['UserCodeAttemptOptions.limit', DEFAULTS.userCodeAttempts.limit],
    ['UserCodeAttemptOptions.windowMs', DEFAULTS.userCodeAttempts.windowMs],
    ['RefreshTokenGrantOptions.retryWindowSeconds', DEFAULTS.retryWindowSeconds],
    ['RequireAccessTokenOptions.clockToleranceSeconds', DEFAULTS.accessTokenClockToleranceSeconds],
  ])('%s', (option, value) => {
    expect(docs.has(option)).toBe(true);
    expect(documentedDefault(docs.get(option))).toBe(String(value));
  });

  it('the rate limit and brute-force summaries state the same numbers', () => {
    const rateLimit = docs.get('TokenRouterOptions.rateLimit') ?? '';
    expect(rateLimit).toContain(`Defaults to ${DEFAULTS.rateLimit.limit} requests per minute`);
    expect(DEFAULTS.rateLimit.windowMs).toBe(60_000);
    const bruteForce = docs.get('TokenRouterOptions.bruteForce') ?? '';
    expect(bruteForce).toContain(`${DEFAULTS.clientAuthFailures.perIp} completed failures per IP`);
    expect(bruteForce).toContain(`\`grantFailures\`: ${DEFAULTS.grantFailures.perIp} per IP`);
  });
});

// docs/limits.md explains the failure budgets with their defaults in a table; those numbers are
// copies of lib/options/defaults.ts and must move with it.
describe('docs/limits.md states the failure budgets\' defaults as lib/options/defaults.ts has them', () => {
  const page = readFileSync(join(__dirname, '..', '..', 'docs', 'limits.md'), 'utf8');
  const row = (limiter: string) => page.split('\n').find((line) => line.startsWith(`| \`${limiter}\``)) ?? '';
  const minutes = (ms: number) => `${ms / 60_000} min`;
  it.each([
    ['bruteForce.clientAuthFailures.perIp', `${DEFAULTS.clientAuthFailures.perIp} per ${minutes(DEFAULTS.clientAuthFailures.windowMs)}`],
    ['bruteForce.clientAuthFailures.backoff', `after ${DEFAULTS.clientAuthFailures.backoff.afterFailures} failures, each further one blocks for ${DEFAULTS.clientAuthFailures.backoff.baseMs / 1000} s`],
    ['bruteForce.clientAuthFailures.backoff', `up to ${minutes(DEFAULTS.clientAuthFailures.backoff.maxMs)}`],
    ['bruteForce.grantFailures.perIp', `${DEFAULTS.grantFailures.perIp} per ${minutes(DEFAULTS.grantFailures.windowMs)}`],
  ])('%s: "%s"', (limiter, text) => {
    expect(row(limiter)).toContain(text);
  });

  it('the request rate limit: the default per minute', () => {
    expect(DEFAULTS.rateLimit.windowMs).toBe(60_000);
    expect(page).toContain(`The default, ${String(DEFAULTS.rateLimit.limit).replace(/\B(?=(\d{3})+(?!\d))/g, ' ')} a minute`);
  });
});
