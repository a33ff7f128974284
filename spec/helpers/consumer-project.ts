// spec/helpers/consumer-project.ts
// Throwaway consumer projects for the package tests: one with the package (and optional drivers)
// symlinked into node_modules, one with a bare copy of package.json + dist/ and nothing else.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const PACKAGE_ROOT = join(__dirname, '..', '..');
export const PACKAGE_NAME = 'express-token-endpoint';

/** The package.json fields the subpath specs check. */
export interface PackageManifest {
  readonly exports?: Record<string, unknown>;
  readonly typesVersions?: Record<string, Record<string, string[]>>;
  readonly peerDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  readonly devDependencies?: Record<string, string>;
  readonly dependencies?: Record<string, string>;
}

/** The package's package.json. */
export function readManifest(): PackageManifest {
  return JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as PackageManifest;
}

/**
 * What package.json must declare for the subpath `name` (e.g. 'postgres'), like the main entry:
 * `exports["./name"]` with import and require conditions and types, and the typesVersions entry
 * (moduleResolution node10).
 */
export function subpathEntry(name: string): { readonly exports: unknown; readonly typesVersions: string[] } {
  return {
    exports: {
      import: { types: `./dist/${name}/index.d.mts`, default: `./dist/${name}/index.mjs` },
      require: { types: `./dist/${name}/index.d.ts`, default: `./dist/${name}/index.js` },
    },
    typesVersions: [`./dist/${name}/index.d.ts`],
  };
}

/** Creates `<dir>/with` (package + `drivers` linked) and `<dir>/without` (bare copy, no drivers). */
export function createConsumerProjects(dir: string, drivers: readonly string[] = []): { withDrivers: string; withoutDrivers: string } {
  const withDrivers = join(dir, 'with');
  mkdirSync(join(withDrivers, 'node_modules'), { recursive: true });
  symlinkSync(PACKAGE_ROOT, join(withDrivers, 'node_modules', PACKAGE_NAME), 'dir');
  for (const driver of drivers) {
    const link = join(withDrivers, 'node_modules', driver);
    mkdirSync(dirname(link), { recursive: true }); // scoped packages (@types/pg) need their scope folder
    symlinkSync(join(PACKAGE_ROOT, 'node_modules', driver), link, 'dir');
  }
  const bare = join(dir, 'without', 'node_modules', PACKAGE_NAME);
  mkdirSync(bare, { recursive: true });
  cpSync(join(PACKAGE_ROOT, 'package.json'), join(bare, 'package.json'));
  cpSync(join(PACKAGE_ROOT, 'dist'), join(bare, 'dist'), { recursive: true });
  return { withDrivers, withoutDrivers: join(dir, 'without') };
}

/** Writes `source` to `cwd/file`, runs it with node and returns its trimmed stdout (throws with its output on failure). */
export function runInConsumer(cwd: string, file: string, source: string): string {
  writeFileSync(join(cwd, file), source);
  const env = { ...process.env };
  delete env.NODE_PRESERVE_SYMLINKS;
  try {
    return execFileSync(process.execPath, [file], { cwd, env, encoding: 'utf8', stdio: 'pipe' }).trim();
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`node ${file} failed:\n${stdout ?? ''}\n${stderr ?? ''}`);
  }
}

/**
 * Type-checks `source` (a consumer's TypeScript) in `cwd` as an ES module and as CommonJS under
 * moduleResolution node16, and as CommonJS under node10 (typesVersions); returns tsc's output per
 * run (empty when it type-checks).
 */
export function typeCheckConsumer(cwd: string, source: string): { node16: string; node10: string } {
  writeFileSync(join(cwd, 'types.mts'), source);
  writeFileSync(join(cwd, 'types.cts'), source);
  writeFileSync(join(cwd, 'types-node10.ts'), source);
  const tsc = join(PACKAGE_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const common = ['--noEmit', '--strict', '--esModuleInterop', '--skipLibCheck', '--types', 'node', '--typeRoots', join(PACKAGE_ROOT, 'node_modules', '@types')];
  const check = (...args: string[]) => execFileSync(process.execPath, [tsc, ...common, ...args], { cwd, encoding: 'utf8' }).trim();
  return {
    node16: check('--module', 'node16', '--moduleResolution', 'node16', 'types.mts', 'types.cts'),
    node10: check('--module', 'commonjs', '--moduleResolution', 'node10', 'types-node10.ts'),
  };
}

/**
 * The package as a user installs it, without the registry: `npm pack` (only the files package.json
 * ships), unpacked into `<dir>/node_modules`, with its dependencies, express and `links` (test
 * runners, drivers) linked from this repository's node_modules. Returns `dir` (write a
 * package.json and test files there). Needs `npm run build` first.
 */
export function createPackedConsumer(dir: string, links: readonly string[] = []): string {
  const manifest = readManifest();
  const [{ filename }] = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: PACKAGE_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as Array<{ filename: string }>;
  const target = join(dir, 'node_modules', PACKAGE_NAME);
  mkdirSync(target, { recursive: true });
  execFileSync('tar', ['-xzf', join(dir, filename), '-C', target, '--strip-components=1']);
  for (const name of [...Object.keys(manifest.dependencies ?? {}), 'express', ...links]) {
    const link = join(dir, 'node_modules', name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(PACKAGE_ROOT, 'node_modules', name), link, 'dir');
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'packed-consumer', private: true }));
  return dir;
}
