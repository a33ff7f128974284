// scripts/check-imports.mjs
// Structure checks for lib/, run by `npm run lint` (and so by CI):
// - no import cycles anywhere in lib/ (type-only imports count: they couple modules too);
// - lib/contracts/ imports nothing from the rest of lib/ (the contracts sit at the bottom);
// - lib/router.ts names no grant and casts nothing (grants plug in through their contract).
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const lib = join(root, 'lib');
const problems = [];

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : name.endsWith('.ts') ? [path] : [];
  });
}

function resolveImport(from, specifier) {
  if (!specifier.startsWith('.')) return undefined;
  const base = resolve(dirname(from), specifier);
  for (const candidate of [`${base}.ts`, join(base, 'index.ts')]) if (existsSync(candidate)) return candidate;
  problems.push(`${relative(root, from)}: cannot resolve import '${specifier}'`);
  return undefined;
}

const graph = new Map();
for (const file of files(lib)) {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  graph.set(file, [...new Set(importedFiles.map((i) => resolveImport(file, i.fileName)).filter(Boolean))]);
}

// Cycles: Tarjan's strongly connected components; any component of two or more files is a cycle.
let index = 0;
const indices = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
function connect(v) {
  indices.set(v, index);
  low.set(v, index);
  index += 1;
  stack.push(v);
  onStack.add(v);
  for (const w of graph.get(v) ?? []) {
    if (!indices.has(w)) {
      connect(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), indices.get(w)));
  }
  if (low.get(v) === indices.get(v)) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) {
      problems.push(`import cycle: ${component.map((f) => relative(root, f)).sort().join(' <-> ')}`);
    }
  }
}
for (const file of graph.keys()) if (!indices.has(file)) connect(file);

// Contracts import only contracts.
const contracts = join(lib, 'contracts') + '/';
for (const [file, imports] of graph) {
  if (!file.startsWith(contracts)) continue;
  for (const target of imports) if (!target.startsWith(contracts)) problems.push(`${relative(root, file)} imports ${relative(root, target)}: lib/contracts/ must import nothing above it`);
}

// The router knows no grant by name and casts nothing.
const routerFile = join(lib, 'router.ts');
const routerCode = readFileSync(routerFile, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
for (const pattern of [/authorization_code|refresh_token|client_credentials|device_code/, /grants\//, /\bas\s+[A-Za-z{(]/, /\bas unknown\b/]) {
  if (pattern.test(routerCode)) problems.push(`lib/router.ts matches ${pattern}: the router must not name grants or cast`);
}

if (problems.length > 0) {
  console.error(`check-imports: ${problems.length} problem(s):\n${problems.map((p) => `- ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(`check-imports: ${graph.size} files in lib/, no cycles, contracts import nothing above them, router names no grant.`);
