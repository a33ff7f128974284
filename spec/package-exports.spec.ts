// spec/package-exports.spec.ts
// The built package as a consumer sees it: package.json entry points, require() and import.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const NAME = 'express-token-endpoint';

interface PackageJson {
  name: string;
  main?: string;
  types?: string;
  exports?: Record<string, unknown>;
  engines?: { node?: string };
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;

/** Every file path named anywhere in a conditional-exports value. */
function exportTargets(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(exportTargets);
  return [];
}

// Shared by both consumer scripts: build a router the way a host would, then say OK.
const BODY = `
for (const [name, value] of Object.entries({ createTokenRouter, OAuthError, createMemoryClientRegistry, createMemoryStorage })) {
  if (typeof value !== 'function') throw new Error(name + ' is ' + typeof value);
}
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const router = createTokenRouter({
  issuer: 'https://id.example.test',
  signingKeys: [{ kid: 'k1', privateKey }],
  clients: createMemoryClientRegistry([{ client_id: 'svc', client_secret: 'svc-secret-0123456789abcdef', grant_types: ['client_credentials'], scope: 'api:read' }]),
  storage: createMemoryStorage(),
  rateLimit: false,
});
if (typeof router !== 'function') throw new Error('createTokenRouter did not return a router');
if (!(new OAuthError('invalid_request', 'x') instanceof Error)) throw new Error('OAuthError is not an Error');
`;

const CJS = `'use strict';
const { generateKeyPairSync } = require('node:crypto');
const { createTokenRouter, OAuthError, createMemoryClientRegistry, createMemoryStorage } = require('${NAME}');
${BODY}
if (require.resolve('${NAME}') !== require('node:fs').realpathSync(${JSON.stringify(join(ROOT, 'dist', 'index.js'))})) throw new Error('require resolved ' + require.resolve('${NAME}'));
console.log('OK');
`;

const ESM = `import { generateKeyPairSync } from 'node:crypto';
import { createRequire } from 'node:module';
import { createTokenRouter, OAuthError, createMemoryClientRegistry, createMemoryStorage } from '${NAME}';
import defaultExport from '${NAME}';
${BODY}
// One module instance for both entry points (no dual-package hazard: instanceof works across them).
const cjs = createRequire(import.meta.url)('${NAME}');
if (cjs.OAuthError !== OAuthError || defaultExport.createTokenRouter !== createTokenRouter) throw new Error('ESM and CJS entries load different copies');
console.log('OK');
`;

// Type-level consumers under node16 resolution, which honours the exports "types" conditions.
const TYPES_ESM = `import { createTokenRouter, OAuthError, type TokenRouterOptions, type MemoryClientDefinition } from '${NAME}';
import defaultExport from '${NAME}';
export const checks: [typeof createTokenRouter, typeof OAuthError, Partial<TokenRouterOptions>, MemoryClientDefinition['client_id'], typeof defaultExport.createTokenRouter] =
  [createTokenRouter, OAuthError, {}, 'svc', createTokenRouter];
`;
const TYPES_CJS = `import { createTokenRouter, type TokenRouterOptions } from '${NAME}';
export const checks: [typeof createTokenRouter, Partial<TokenRouterOptions>] = [createTokenRouter, {}];
`;

describe('package.json entry points', () => {
  it('has main, types, exports and engines.node', () => {
    expect(pkg.name).toBe(NAME);
    expect(pkg.main).toBe('./dist/index.js');
    expect(pkg.types).toBe('./dist/index.d.ts');
    expect(pkg.engines?.node).toMatch(/^>=\s*\d+/);
    expect(pkg.exports).toEqual(expect.objectContaining({ '.': expect.objectContaining({ import: expect.anything(), require: expect.anything() }) }));
  });

  it('points every entry at a file that exists in dist/ (npm test builds it first)', () => {
    const targets = [pkg.main, pkg.types, ...exportTargets(pkg.exports?.['.'])].filter((t): t is string => typeof t === 'string');
    expect(targets.length).toBeGreaterThanOrEqual(6);
    const missing = targets.filter((target) => !target.startsWith('./dist/') || !existsSync(join(ROOT, target)));
    expect(missing).toEqual([]);
    for (const target of exportTargets(pkg.exports)) expect(existsSync(join(ROOT, target))).toBe(true);
  });
});

describe('consuming the built package', () => {
  let dir: string;

  beforeAll(() => {
    if (!existsSync(join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does it in pretest).');
    dir = mkdtempSync(join(tmpdir(), 'package-exports-'));
    mkdirSync(join(dir, 'node_modules'));
    // Node resolves a symlinked package from its real path, so express is found in the repo's node_modules.
    symlinkSync(ROOT, join(dir, 'node_modules', NAME), 'dir');
    writeFileSync(join(dir, 'consumer.cjs'), CJS);
    writeFileSync(join(dir, 'consumer.mjs'), ESM);
    writeFileSync(join(dir, 'types.mts'), TYPES_ESM);
    writeFileSync(join(dir, 'types.cts'), TYPES_CJS);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function run(...args: string[]): string {
    const env = { ...process.env };
    delete env.NODE_PRESERVE_SYMLINKS;
    try {
      return execFileSync(process.execPath, args, { cwd: dir, env, encoding: 'utf8', stdio: 'pipe' }).trim();
    } catch (error) {
      const { stdout, stderr } = error as { stdout?: string; stderr?: string };
      throw new Error(`node ${args.join(' ')} failed:\n${stdout ?? ''}\n${stderr ?? ''}`);
    }
  }

  it('works with require() (CommonJS)', () => {
    expect(run('consumer.cjs')).toBe('OK');
  });

  it('works with import (ES module), sharing one instance with require()', () => {
    expect(run('consumer.mjs')).toBe('OK');
  });

  it('type-checks for TypeScript consumers of both entry points (moduleResolution node16)', () => {
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const flags = ['--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--skipLibCheck', '--types', 'node', '--typeRoots', join(ROOT, 'node_modules', '@types')];
    expect(run(tsc, ...flags, 'types.mts', 'types.cts')).toBe('');
  });
});
