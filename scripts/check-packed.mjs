// scripts/check-packed.mjs
// The package as a user installs it (issue 17, item 7): `npm pack`, install the tarball into a
// fresh project next to its peers, then import every entry point from ESM and CommonJS and
// type-check them with `--strict` under moduleResolution node16 (ESM and CJS) and node10.
// Run by .ci/run after `npm run build`; dependencies come from the npm registry (or npm's cache).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const own = pkg.devDependencies;
const run = (command, args, cwd) => execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

const dir = mkdtempSync(join(tmpdir(), 'check-packed-'));
try {
  const [{ filename }] = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], ROOT));
  // The peers a host would add, at the versions this repository tests with, and TypeScript 5 for the checks.
  const peers = ['express', 'better-sqlite3', 'ioredis', 'pg', '@opentelemetry/api'];
  const dependencies = Object.fromEntries([[pkg.name, `file:${join(dir, filename)}`], ...peers.map((name) => [name, own[name] ?? pkg.peerDependencies[name]])]);
  const devDependencies = { typescript: own.typescript, '@types/node': own['@types/node'], '@types/express': own['@types/express'], '@types/pg': own['@types/pg'] };
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'packed-consumer', private: true, dependencies, devDependencies }, null, 2));
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], dir);

  const entries = Object.keys(pkg.exports).filter((entry) => entry !== './package.json').map((entry) => (entry === '.' ? pkg.name : `${pkg.name}/${entry.slice(2)}`));
  const esm = entries.map((entry, i) => `import * as e${i} from '${entry}';`).join('\n');
  const cjs = entries.map((entry, i) => `const e${i} = require('${entry}');`).join('\n');
  const count = `for (const [i, m] of [${entries.map((_, i) => `e${i}`).join(', ')}].entries()) if (Object.keys(m).length === 0) throw new Error('entry ' + i + ' exports nothing');\nconsole.log('OK ' + ${entries.length});\n`;
  writeFileSync(join(dir, 'load.mjs'), `${esm}\n${count}`);
  writeFileSync(join(dir, 'load.cjs'), `${cjs}\n${count}`);
  for (const file of ['load.mjs', 'load.cjs']) {
    const out = run(process.execPath, [file], dir).trim();
    if (out !== `OK ${entries.length}`) throw new Error(`${file}: ${out}`);
  }

  // Types: one use of a main export per entry, so a broken .d.ts path or type fails the check.
  const typed = `${entries.map((entry, i) => `import * as e${i} from '${entry}';`).join('\n')}\nexport const all: object[] = [${entries.map((_, i) => `e${i}`).join(', ')}];\nimport { createTokenRouter, createMemoryClientRegistry, createMemoryStorage, type TokenRouter } from '${pkg.name}';\nexport const router: TokenRouter = createTokenRouter({ issuer: 'https://id.example.com', signingKeys: [], clients: createMemoryClientRegistry([]), storage: createMemoryStorage() });\n`;
  for (const file of ['types.mts', 'types.cts', 'types-node10.ts']) writeFileSync(join(dir, file), typed);
  const tsc = join(dir, 'node_modules', 'typescript', 'bin', 'tsc');
  const common = ['--noEmit', '--strict', '--esModuleInterop', '--skipLibCheck', '--types', 'node'];
  run(process.execPath, [tsc, ...common, '--module', 'node16', '--moduleResolution', 'node16', 'types.mts', 'types.cts'], dir);
  run(process.execPath, [tsc, ...common, '--module', 'commonjs', '--moduleResolution', 'node10', 'types-node10.ts'], dir);
  console.log(`check-packed: ${filename} installs; ${entries.length} entry points load from ESM and CJS and type-check (node16, node10) with TypeScript ${run(process.execPath, [tsc, '--version'], dir).trim().replace('Version ', '')}.`);
} catch (error) {
  const { stdout, stderr } = error;
  console.error(`check-packed failed: ${error.message}\n${stdout ?? ''}\n${stderr ?? ''}`);
  process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
