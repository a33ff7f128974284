// scripts/run-examples.mjs
// Runs every compiled example (.tmp/examples/**/*.js, from `tsc -p examples/tsconfig.json`), one
// process each, and fails when one fails. An example checks itself (node:assert through HTTP) and
// prints one result line. Files named *.test.js are test files for a test runner, run by their specs.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const dir = join(root, '.tmp', 'examples');
const files = readdirSync(dir, { recursive: true })
  .map(String)
  .filter((file) => file.endsWith('.js') && !file.endsWith('.test.js'))
  .sort();
if (files.length === 0) throw new Error('No compiled examples in .tmp/examples: run tsc -p examples/tsconfig.json first.');
let failed = 0;
for (const file of files) {
  try {
    // An example that runs the conformance kit reports through node:test: one dot per test.
    execFileSync(process.execPath, ['--test-reporter=dot', join(dir, file)], { cwd: root, stdio: 'inherit' });
  } catch {
    failed += 1;
    console.error(`example failed: ${relative(root, join(dir, file))}`);
  }
}
if (failed > 0) process.exit(1);
console.log(`${files.length} examples ran`);
