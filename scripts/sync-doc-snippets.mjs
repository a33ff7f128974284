// scripts/sync-doc-snippets.mjs
// Rewrites every code block of README.md and docs/*.md that is marked
// `<!-- example: examples/path.ts#region -->` with the current text of that region (dedented; `#a+b`
// joins two regions with a blank line). Run it after editing an example:
//   node scripts/sync-doc-snippets.mjs
// spec/docs/doc-snippets.spec.ts fails while a copy differs.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const REGION_MARKER = /^\s*\/\/ #(?:end)?region\b/;

function dedent(lines) {
  const indents = lines.filter((line) => line.trim() !== '').map((line) => /^ */.exec(line)[0].length);
  const cut = indents.length === 0 ? 0 : Math.min(...indents);
  return lines.map((line) => line.slice(cut)).join('\n').replace(/\s+$/, '');
}

function region(path, names) {
  const lines = readFileSync(join(ROOT, path), 'utf8').split('\n');
  if (names === undefined) return dedent(lines.filter((line) => !REGION_MARKER.test(line)));
  return names.split('+').map((name) => {
    const start = lines.findIndex((line) => line.trim() === `// #region ${name}`);
    const end = lines.findIndex((line, index) => index > start && line.trim() === `// #endregion ${name}`);
    if (start < 0 || end < 0) throw new Error(`${path} has no region "${name}"`);
    return dedent(lines.slice(start + 1, end).filter((line) => !REGION_MARKER.test(line)));
  }).join('\n\n');
}

const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];
let changed = 0;
for (const file of files) {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const out = [];
  for (let i = 0; i < lines.length; i += 1) {
    out.push(lines[i]);
    const marker = /^\s*<!--\s*example:\s*(\S+?)\s*-->\s*$/.exec(lines[i]);
    if (!marker) continue;
    let open = i + 1;
    while (open < lines.length && lines[open].trim() === '') open += 1;
    const fence = /^(\s*)(`{3,})(\w*)/.exec(lines[open] ?? '');
    if (!fence) throw new Error(`${file}:${i + 1}: an example marker without a code block after it`);
    let end = open + 1;
    while (end < lines.length && !lines[end].trim().startsWith(fence[2])) end += 1;
    const [path, names] = marker[1].split('#');
    const indent = fence[1];
    const body = region(path, names).split('\n').map((line) => (line === '' ? '' : indent + line));
    out.push(lines[open], ...body, lines[end]);
    i = end;
  }
  const text = out.join('\n');
  if (text !== lines.join('\n')) {
    writeFileSync(join(ROOT, file), text);
    changed += 1;
    console.log(`updated ${file}`);
  }
}
console.log(`${changed} files updated`);
