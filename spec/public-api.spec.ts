// spec/public-api.spec.ts
// The published surface: exported names, and no `any` leaking into the declaration files.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as api from '../lib';

function declarationFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return declarationFiles(path);
    return name.endsWith('.d.ts') ? [path] : [];
  });
}

describe('public API', () => {
  it('exports the router factory, grants, adapters, errors and helpers', () => {
    for (const name of ['createTokenRouter', 'clientCredentials', 'createMemoryClientRegistry', 'createMemoryStorage', 'hashClientSecret', 'OAuthError', 'ConfigurationError', 'defaultGrants', 'createOpaqueToken', 'hashOpaqueToken', 'parseScope', 'allowedScopes', 'assertScopesAllowed']) {
      expect(typeof (api as Record<string, unknown>)[name]).toBe('function');
    }
  });

  it('exports the event schema version and the list of event types', () => {
    expect(api.EVENT_SCHEMA_VERSION).toBe(1);
    expect(Object.isFrozen(api.EVENT_TYPES)).toBe(true);
    expect(api.EVENT_TYPES).toEqual(expect.arrayContaining(['token.issued', 'client.authentication_failed', 'authorization_code.replayed', 'device_code.replayed', 'grant.revoked', 'rate_limited']));
  });

  it('has no `any` in the built declaration files (npm test builds dist/ first)', () => {
    const dist = join(__dirname, '..', 'dist');
    const files = declarationFiles(dist);
    expect(files.length).toBeGreaterThan(10);
    const offenders: string[] = [];
    for (const file of files) {
      const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      if (/\bany\b/.test(code)) offenders.push(file);
    }
    expect(offenders).toEqual([]);
  });
});
