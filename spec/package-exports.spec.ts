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
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
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

// The test kit subpath (`express-token-endpoint/testing`): require, import, and a bare
// describe/it/beforeEach/afterEach runner (no jest) that runs the kit on the memory adapter.
const TESTING_CJS = `'use strict';
const main = require('${NAME}');
if ('runStorageConformance' in main) throw new Error('the main entry exposes the test kit');
const loaded = Object.keys(require.cache).filter((file) => file.includes(require('node:path').join('dist', 'testing')));
if (loaded.length > 0) throw new Error('the main entry loads the test kit: ' + loaded.join(', '));
const { runStorageConformance, withLatency, CONFORMANCE_T0 } = require('${NAME}/testing');
for (const [name, value] of Object.entries({ runStorageConformance, withLatency })) {
  if (typeof value !== 'function') throw new Error(name + ' is ' + typeof value);
}
if (CONFORMANCE_T0 !== Date.UTC(2026, 0, 1)) throw new Error('CONFORMANCE_T0 is ' + CONFORMANCE_T0);
if (require.resolve('${NAME}/testing') !== require('node:fs').realpathSync(${JSON.stringify(join(ROOT, 'dist', 'testing', 'index.js'))})) throw new Error('require resolved ' + require.resolve('${NAME}/testing'));
// The host helpers: a minted token passes the kit router's own middleware, over HTTP.
const { createTestTokenRouter } = require('${NAME}/testing');
// express is the package's peer: found from where the package is (this consumer has no node_modules of its own).
const express = require('node:module').createRequire(require.resolve('${NAME}'))('express');
const http = require('node:http');
const kit = createTestTokenRouter();
const app = express();
app.get('/api', kit.tokenRouter.requireAccessToken({ audience: kit.audience }), (req, res) => res.json({ ok: true }));
kit.mintAccessToken({ clientId: 'test-client' }).then((token) => {
  const server = app.listen(0, '127.0.0.1', () => {
    http.get({ host: '127.0.0.1', port: server.address().port, path: '/api', headers: { authorization: 'Bearer ' + token } }, (res) => {
      res.resume();
      server.close();
      kit.close();
      if (res.statusCode !== 200) throw new Error('the minted token got ' + res.statusCode);
      console.log('OK');
    });
  });
});
`;

const TESTING_ESM = `import { createRequire } from 'node:module';
import { runStorageConformance, withLatency, CONFORMANCE_T0 } from '${NAME}/testing';
import testingDefault from '${NAME}/testing';
import { createMemoryStorage } from '${NAME}';

for (const [name, value] of Object.entries({ runStorageConformance, withLatency })) {
  if (typeof value !== 'function') throw new Error(name + ' is ' + typeof value);
}
const cjs = createRequire(import.meta.url)('${NAME}/testing');
if (cjs.runStorageConformance !== runStorageConformance || testingDefault.withLatency !== withLatency) throw new Error('ESM and CJS test kits are different copies');
if (CONFORMANCE_T0 !== Date.UTC(2026, 0, 1)) throw new Error('CONFORMANCE_T0 is ' + CONFORMANCE_T0);

// A bare runner: the kit needs only these four globals.
const tests = [];
const path = [];
const hooks = { before: [], after: [] };
globalThis.describe = (name, body) => { path.push(name); body(); path.pop(); };
globalThis.it = (name, body) => tests.push({ name: [...path, name].join(' > '), body });
globalThis.beforeEach = (hook) => hooks.before.push(hook);
globalThis.afterEach = (hook) => hooks.after.push(hook);

runStorageConformance({ name: 'memory', create: (clock) => createMemoryStorage({ clock }), destroy: (storage) => storage.close(), concurrency: 4, withLatency: false });
if (hooks.before.length !== 1 || hooks.after.length !== 1) throw new Error('expected one beforeEach and one afterEach');
if (tests.length < 40) throw new Error('only ' + tests.length + ' tests registered');
for (const test of tests) {
  await hooks.before[0]();
  try {
    await test.body();
  } catch (error) {
    throw new Error(test.name + ': ' + (error instanceof Error ? error.message : String(error)));
  } finally {
    await hooks.after[0]();
  }
}
console.log('OK ' + tests.length);
`;

const TYPES_TESTING = `import { runStorageConformance, withLatency, CONFORMANCE_T0, type StorageConformanceOptions } from '${NAME}/testing';
import { createTestTokenRouter, createTestClock, testSigningKey, mintAccessToken, codeExchange, type TestTokenRouter, type TestClock, type TestTokenRequest } from '${NAME}/testing';
import { createMemoryStorage, type MemoryStorage, type StorageAdapter, type SigningKeyInput, type TokenRouter, type TokenResponse } from '${NAME}';
const options: StorageConformanceOptions<MemoryStorage> = { name: 'memory', create: (clock) => createMemoryStorage({ clock }), destroy: (storage) => storage.close() };
export const checks: [typeof runStorageConformance, StorageAdapter, number, typeof options] = [runStorageConformance, withLatency<StorageAdapter>(createMemoryStorage(), 1), CONFORMANCE_T0, options];
const clock: TestClock = createTestClock(0);
const kit: TestTokenRouter = createTestTokenRouter({ clock });
const request: TestTokenRequest = { clientId: 'test-client', subject: 'alice', scope: ['openid'] };
export const host: [TokenRouter, SigningKeyInput, Promise<string>, Promise<string>, Promise<TokenResponse>, number] =
  [kit.tokenRouter, testSigningKey(), kit.mintAccessToken(request), mintAccessToken(kit.tokenRouter, { ...request, redirectUri: 'https://client.example.test/callback' }), codeExchange(() => undefined, { ...request, tokenRouter: kit.tokenRouter, subject: 'alice', redirectUri: 'x' }), clock.advance(1)];
`;

describe('package.json entry points', () => {
  it('has main, types, exports and engines.node', () => {
    expect(pkg.name).toBe(NAME);
    expect(pkg.main).toBe('./dist/index.js');
    expect(pkg.types).toBe('./dist/index.d.ts');
    expect(pkg.engines?.node).toMatch(/^>=\s*\d+/);
    expect(pkg.exports).toEqual(expect.objectContaining({ '.': expect.objectContaining({ import: expect.anything(), require: expect.anything() }) }));
  });

  it('exports the test kit as ./testing (import and require, with types), built in dist/', () => {
    const testing = pkg.exports?.['./testing'];
    expect(testing).toEqual({
      import: { types: './dist/testing/index.d.mts', default: './dist/testing/index.mjs' },
      require: { types: './dist/testing/index.d.ts', default: './dist/testing/index.js' },
    });
    const missing = exportTargets(testing).filter((target) => !existsSync(join(ROOT, target)));
    expect(missing).toEqual([]);
  });

  it('points every entry at a file that exists in dist/ (npm test builds it first)', () => {
    const targets = [pkg.main, pkg.types, ...exportTargets(pkg.exports?.['.'])].filter((t): t is string => typeof t === 'string');
    expect(targets.length).toBeGreaterThanOrEqual(6);
    const missing = targets.filter((target) => !target.startsWith('./dist/') || !existsSync(join(ROOT, target)));
    expect(missing).toEqual([]);
    for (const target of exportTargets(pkg.exports)) expect(existsSync(join(ROOT, target))).toBe(true);
  });
});

describe('what npm publishes (npm pack)', () => {
  // The files list of `npm pack --dry-run --json`, from the built tree (npm test builds it first).
  const packed = (): string[] => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const [report] = JSON.parse(out) as Array<{ files: Array<{ path: string }> }>;
    return report.files.map((file) => file.path);
  };
  let files: string[] = [];
  beforeAll(() => {
    files = packed();
  }, 60_000);

  it('ships the license, the changelog, the README, the user docs, the security model and the examples', () => {
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'CHANGELOG.md', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'docs/client-authentication.md', 'docs/security-model.md', 'docs/decisions.md', 'examples/client-authentication/methods.ts', 'docs/conformance-kit.md', 'examples/conformance-kit/node-test.test.mjs', 'examples/conformance-kit/jest.test.js', 'examples/conformance-kit/vitest.test.mjs']));
  });

  it('ships no source maps (they point at lib/, which is not shipped), no sources and no specs', () => {
    expect(files.filter((file) => file.endsWith('.map'))).toEqual([]);
    expect(files.filter((file) => file.startsWith('lib/') || file.startsWith('spec/'))).toEqual([]);
  });

  it('the LICENSE is the MIT license package.json names', () => {
    expect((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { license: string }).license).toBe('MIT');
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n\nCopyright \(c\) \d{4}/);
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
    writeFileSync(join(dir, 'testing-consumer.cjs'), TESTING_CJS);
    writeFileSync(join(dir, 'testing-consumer.mjs'), TESTING_ESM);
    writeFileSync(join(dir, 'types-testing.mts'), TYPES_TESTING);
    writeFileSync(join(dir, 'types-testing.cts'), TYPES_TESTING);
    writeFileSync(join(dir, 'types-testing-node10.ts'), TYPES_TESTING);
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

  describe('the test kit (express-token-endpoint/testing)', () => {
    it('works with require() (a minted token passes the router middleware over HTTP) and does not load with the main entry', () => {
      expect(run('testing-consumer.cjs')).toBe('OK');
    });

    it('works with import, shares one instance with require(), and runs the kit under a bare describe/it runner', () => {
      expect(run('testing-consumer.mjs')).toMatch(/^OK \d+$/);
    });

    it('type-checks for TypeScript consumers (moduleResolution node16, and node10 through typesVersions)', () => {
      const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      const common = ['--noEmit', '--strict', '--skipLibCheck', '--types', 'node', '--typeRoots', join(ROOT, 'node_modules', '@types')];
      expect(run(tsc, ...common, '--module', 'node16', '--moduleResolution', 'node16', 'types-testing.mts', 'types-testing.cts')).toBe('');
      expect(run(tsc, ...common, '--module', 'commonjs', '--moduleResolution', 'node10', 'types-testing-node10.ts')).toBe('');
    });
  });
});
