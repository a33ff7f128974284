// spec/telemetry/opentelemetry-package.spec.ts
// The OpenTelemetry integration as a consumer of the built package gets it: the
// `express-token-endpoint/opentelemetry` subpath (require, import, types), @opentelemetry/api as
// an optional peer that the main entry never loads (not even when a router serves requests), and
// the subpath loading without it installed (openTelemetry() then says what to install). Needs
// dist/ (npm test builds it first).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConsumerProjects, PACKAGE_NAME, PACKAGE_ROOT, readManifest, runInConsumer, subpathEntry, typeCheckConsumer } from '../helpers/consumer-project';

const ROOT = PACKAGE_ROOT;
const NAME = PACKAGE_NAME;
const API = '@opentelemetry/api';

const pkg = readManifest();

// A router serving one client_credentials request in-process (no port), then the modules loaded.
const SERVE_ONE = `
const { generateKeyPairSync } = require('node:crypto');
const { createTokenRouter, createMemoryClientRegistry } = require('${NAME}');
const express = require(require.resolve('express', { paths: [${JSON.stringify(ROOT)}] }));
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
function serveOne(telemetry) {
  const app = express();
  app.use(createTokenRouter({
    issuer: 'https://id.example.test',
    signingKeys: [{ kid: 'k1', privateKey }],
    clients: createMemoryClientRegistry([{ client_id: 'svc', client_secret: 'svc-secret-0123456789abcdef', grant_types: ['client_credentials'], scope: 'api:read' }]),
    rateLimit: false,
    grants: [require('${NAME}').clientCredentials()],
    ...(telemetry && { telemetry }),
  }));
  return new Promise((resolve, reject) => {
    const server = app.listen(0, '127.0.0.1', async () => {
      try {
        const res = await fetch('http://127.0.0.1:' + server.address().port + '/token', {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic ' + Buffer.from('svc:svc-secret-0123456789abcdef').toString('base64') },
          body: 'grant_type=client_credentials',
        });
        resolve(res.status);
      } catch (error) { reject(error); } finally { server.close(); }
    });
  });
}
const loadedOtel = () => Object.keys(require.cache).filter((file) => /[\\\\/]@opentelemetry[\\\\/]|[\\\\/]dist[\\\\/]opentelemetry[\\\\/]/.test(file));
`;

describe('package.json: the ./opentelemetry subpath and the optional API', () => {
  it('exports ./opentelemetry with import and require conditions and types, like the main entry', () => {
    const entry = subpathEntry('opentelemetry');
    expect(pkg.exports?.['./opentelemetry']).toEqual(entry.exports);
    expect(pkg.typesVersions?.['*']?.opentelemetry).toEqual(entry.typesVersions);
  });

  it('declares @opentelemetry/api@1 an optional peer (and a dev dependency with the SDK used by the specs), never a dependency', () => {
    expect(pkg.peerDependencies?.[API]).toMatch(/^\^1\./);
    expect(pkg.peerDependenciesMeta?.[API]).toEqual({ optional: true });
    expect(pkg.devDependencies?.[API]).toMatch(/^\^1\./);
    for (const sdk of ['@opentelemetry/sdk-trace-base', '@opentelemetry/sdk-metrics']) expect(pkg.devDependencies?.[sdk]).toBeDefined();
    expect(Object.keys(pkg.dependencies ?? {}).filter((name) => name.startsWith('@opentelemetry/'))).toEqual([]);
  });
});

describe('consuming express-token-endpoint/opentelemetry from the built package', () => {
  let dir: string;

  beforeAll(() => {
    if (!existsSync(join(ROOT, 'dist', 'opentelemetry', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does it in pretest).');
    dir = mkdtempSync(join(tmpdir(), 'opentelemetry-package-'));
    createConsumerProjects(dir, [API]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the main entry loads neither the API nor the subpath, even while a router serves requests', async () => {
    const out = runInConsumer(join(dir, 'with'), 'main.cjs', `'use strict';
${SERVE_ONE}
(async () => {
  const main = require('${NAME}');
  if ('openTelemetry' in main) throw new Error('the main entry exposes openTelemetry');
  const status = await serveOne(undefined);
  if (status !== 200) throw new Error('status ' + status);
  if (loadedOtel().length > 0) throw new Error('loaded ' + loadedOtel().join(', '));
  console.log('OK');
})().catch((error) => { console.error(error); process.exit(1); });
`);
    expect(out).toBe('OK');
  });

  it('works with require() (CommonJS): the API is loaded only when openTelemetry() is called', () => {
    const out = runInConsumer(join(dir, 'with'), 'otel.cjs', `'use strict';
${SERVE_ONE}
(async () => {
  const { openTelemetry, INSTRUMENTATION_NAME } = require('${NAME}/opentelemetry');
  if (Object.keys(require.cache).some((file) => file.includes('@opentelemetry'))) throw new Error('loading the subpath loaded the API');
  const hooks = openTelemetry();
  if (!Object.keys(require.cache).some((file) => file.includes('@opentelemetry'))) throw new Error('openTelemetry() did not load the API');
  if (INSTRUMENTATION_NAME !== '${NAME}' || typeof hooks.request !== 'function') throw new Error('unexpected exports');
  // No SDK registered: the global no-op providers; the request is served as usual.
  const status = await serveOne(hooks);
  if (status !== 200) throw new Error('status ' + status);
  console.log('OK');
})().catch((error) => { console.error(error); process.exit(1); });
`);
    expect(out).toBe('OK');
  });

  it('works with import (ES module), sharing one instance with require()', () => {
    const out = runInConsumer(join(dir, 'with'), 'otel.mjs', `import { createRequire } from 'node:module';
import { openTelemetry } from '${NAME}/opentelemetry';
import defaultExport from '${NAME}/opentelemetry';
import { trace } from '${API}';
if (createRequire(import.meta.url)('${NAME}/opentelemetry').openTelemetry !== openTelemetry || defaultExport.openTelemetry !== openTelemetry) throw new Error('ESM and CJS load different copies');
const hooks = openTelemetry({ tracerProvider: trace.getTracerProvider() });
if (typeof hooks.storage !== 'function') throw new Error('no hooks');
console.log('OK');
`);
    expect(out).toBe('OK');
  });

  it('type-checks for TypeScript consumers (moduleResolution node16 and node10)', () => {
    const source = `import { trace, metrics } from '${API}';
import { createTokenRouter, type TelemetryHooks, type TokenRouterOptions } from '${NAME}';
import { openTelemetry, type OpenTelemetryOptions } from '${NAME}/opentelemetry';
const options: OpenTelemetryOptions = { tracerProvider: trace.getTracerProvider(), meterProvider: metrics.getMeterProvider() };
const hooks: TelemetryHooks = openTelemetry(options);
const routerOptions: Partial<TokenRouterOptions> = { telemetry: hooks };
export const checks: [typeof createTokenRouter, Partial<TokenRouterOptions>] = [createTokenRouter, routerOptions];
`;
    expect(typeCheckConsumer(join(dir, 'with'), source)).toEqual({ node16: '', node10: '' });
  });

  it('no declaration file outside dist/opentelemetry/ imports from @opentelemetry (the main entry\'s types never need the API)', () => {
    const files = (folder: string): string[] => readdirSync(folder, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? files(join(folder, entry.name)) : [join(folder, entry.name)]));
    const declarations = files(join(ROOT, 'dist')).filter((file) => /\.d\.m?ts$/.test(file));
    const naming = declarations.filter((file) => /(?:from\s*|import\s*\(\s*|require\s*\(\s*)['"]@opentelemetry\//.test(readFileSync(file, 'utf8')));
    const relative = naming.map((file) => file.slice(join(ROOT, 'dist').length + 1));
    expect(relative).toContain('opentelemetry/index.d.ts');
    expect(relative.filter((file) => !file.startsWith('opentelemetry/'))).toEqual([]);
  });

  it('a consumer without @opentelemetry/api type-checks against the main entry (no API type leaks into it)', () => {
    const source = `import { createTokenRouter, type TelemetryHooks, type TokenRouterOptions } from '${NAME}';
const hooks: TelemetryHooks = { request: () => ({ run: (work) => work(), end() {} }), storage: () => ({ run: (work) => work(), end() {} }), signing: () => ({ run: (work) => work(), end() {} }), event() {} };
export const checks: [typeof createTokenRouter, Partial<TokenRouterOptions>] = [createTokenRouter, { telemetry: hooks }];
`;
    expect(typeCheckConsumer(join(dir, 'without'), source)).toEqual({ node16: '', node10: '' });
  });

  it('without @opentelemetry/api installed the subpath loads, and openTelemetry() throws a ConfigurationError saying what to install', () => {
    const out = runInConsumer(join(dir, 'without'), 'bare.cjs', `'use strict';
const { openTelemetry } = require('${NAME}/opentelemetry');
try {
  openTelemetry();
  throw new Error('openTelemetry() worked without the API');
} catch (error) {
  if (error.name !== 'ConfigurationError' || error.code !== 'ERR_TOKEN_ROUTER_OPTIONS' || !/npm install @opentelemetry\\/api/.test(error.message)) throw error;
}
console.log('OK');
`);
    expect(out).toBe('OK');
  });
});
