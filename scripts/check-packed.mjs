// scripts/check-packed.mjs
// The package as a user installs it (issue 17, item 7): `npm pack`, install the tarball into a
// fresh project next to its peers, then import every entry point from ESM and CommonJS and
// type-check them with `--strict` (declarations included: no --skipLibCheck): with TypeScript 5
// under moduleResolution node16 (ESM and CJS) and node10, and with the current TypeScript (7,
// installed in a sibling folder) under node16, nodenext and bundler.
// Run by .ci/run after `npm run build`; dependencies come from the npm registry (or npm's cache).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const own = pkg.devDependencies;
const run = (command, args, cwd) => execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
/** Like run, but in the background: resolves with stdout, rejects with an error carrying stdout and stderr. */
const runInBackground = (command, args, cwd) => new Promise((resolve, reject) => {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => { stdout += chunk; });
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  child.on('error', reject);
  child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(Object.assign(new Error(`${command} ${args.join(' ')} exited with ${code}`), { stdout, stderr }))));
});
// The current TypeScript major (npm's latest dist-tag), checked beside the TypeScript 5 of devDependencies.
const CURRENT_TYPESCRIPT = '^7.0.2';
const started = Date.now();
const seconds = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;

const dir = mkdtempSync(join(tmpdir(), 'check-packed-'));
try {
  const [{ filename }] = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], ROOT));
  // The peers a host would add, at the versions this repository tests with, and TypeScript 5 for the checks.
  const peers = ['express', 'better-sqlite3', 'ioredis', 'pg', '@opentelemetry/api'];
  const dependencies = Object.fromEntries([[pkg.name, `file:${join(dir, filename)}`], ...peers.map((name) => [name, own[name] ?? pkg.peerDependencies[name]])]);
  const devDependencies = { typescript: own.typescript, '@types/node': own['@types/node'], '@types/express': own['@types/express'], '@types/pg': own['@types/pg'] };
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'packed-consumer', private: true, dependencies, devDependencies }, null, 2));
  // TypeScript 7 in a folder of its own (one package.json cannot hold two versions), installed
  // while the consumer project installs.
  const ts7Dir = join(dir, 'typescript-current');
  mkdirSync(ts7Dir);
  writeFileSync(join(ts7Dir, 'package.json'), JSON.stringify({ name: 'typescript-current', private: true, devDependencies: { typescript: CURRENT_TYPESCRIPT } }, null, 2));
  const ts7Installed = runInBackground('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], ts7Dir);
  ts7Installed.catch(() => undefined); // awaited below; a failure must not surface as an unhandled rejection first
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], dir);
  console.log(`check-packed: installed (${seconds()})`);

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
  for (const file of ['types.mts', 'types.cts', 'types-node10.ts', 'types-bundler.ts']) writeFileSync(join(dir, file), typed);
  // No --skipLibCheck: our .d.ts files are checked too, as a consumer with skipLibCheck off sees them
  // (node16 reaches both the .d.mts and the .d.ts files; the node10 run checks resolution only).
  const common = ['--noEmit', '--strict', '--esModuleInterop', '--types', 'node'];
  const tsc = join(dir, 'node_modules', 'typescript', 'bin', 'tsc');
  run(process.execPath, [tsc, ...common, '--module', 'node16', '--moduleResolution', 'node16', 'types.mts', 'types.cts'], dir);
  run(process.execPath, [tsc, ...common, '--skipLibCheck', '--module', 'commonjs', '--moduleResolution', 'node10', 'types-node10.ts'], dir);
  const version = (compiler) => run(process.execPath, [compiler, '--version'], dir).trim().replace('Version ', '');
  console.log(`check-packed: TypeScript ${version(tsc)}: node16 (ESM, CJS) and node10 type-check (${seconds()})`);

  // The current TypeScript, run in the consumer project (cwd) so it resolves the same node_modules.
  // TypeScript 7 removed moduleResolution node10 ("TS5108: Option 'moduleResolution=node10' has
  // been removed"), so typesVersions is checked by TypeScript 5 only; here node16 and nodenext
  // (ESM and CJS) and bundler (module preserve, as bundlers resolve `exports`).
  await ts7Installed;
  const tsc7 = join(ts7Dir, 'node_modules', 'typescript', 'bin', 'tsc');
  run(process.execPath, [tsc7, ...common, '--module', 'node16', '--moduleResolution', 'node16', 'types.mts', 'types.cts'], dir);
  run(process.execPath, [tsc7, ...common, '--module', 'nodenext', '--moduleResolution', 'nodenext', 'types.mts', 'types.cts'], dir);
  run(process.execPath, [tsc7, ...common, '--module', 'preserve', '--moduleResolution', 'bundler', 'types-bundler.ts'], dir);
  // Each compiler also refuses a wrong use of a package type: the declarations were loaded, not `any`.
  writeFileSync(join(dir, 'wrong.mts'), `import { createMemoryStorage } from '${pkg.name}';\nexport const storage = createMemoryStorage({ clock: 'now' });\n`);
  for (const compiler of [tsc, tsc7]) {
    let refused = false;
    try {
      run(process.execPath, [compiler, ...common, '--skipLibCheck', '--module', 'node16', '--moduleResolution', 'node16', 'wrong.mts'], dir);
    } catch (error) {
      refused = /wrong\.mts\(2,\d+\): error TS2322/.test(error.stdout ?? '');
      if (!refused) throw error;
    }
    if (!refused) throw new Error(`TypeScript ${version(compiler)} accepted createMemoryStorage({ clock: 'now' }): the package's types were not applied`);
  }
  console.log(`check-packed: TypeScript ${version(tsc7)}: node16, nodenext (ESM, CJS) and bundler type-check (${seconds()})`);
  console.log(`check-packed: ${filename} installs; ${entries.length} entry points load from ESM and CJS and type-check with TypeScript ${version(tsc)} (node16, node10) and ${version(tsc7)} (node16, nodenext, bundler) in ${seconds()}.`);
} catch (error) {
  const { stdout, stderr } = error;
  console.error(`check-packed failed: ${error.message}\n${stdout ?? ''}\n${stderr ?? ''}`);
  process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
