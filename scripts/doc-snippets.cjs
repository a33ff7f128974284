// scripts/doc-snippets.cjs
// Code blocks in README.md and docs/ marked `<!-- example: examples/path.ts#region -->` are copies
// of that region of the example (dedented; `#a+b` joins two regions with a blank line; markers of
// nested regions left out). spec/docs/doc-snippets.spec.ts compares the copies with `region`;
// run this file to rewrite them after an example changed:
//   node scripts/doc-snippets.cjs
'use strict';
const { readdirSync, readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const ROOT = join(__dirname, '..');
const REGION_MARKER = /^\s*\/\/ #(?:end)?region\b/;

/** Lines without their common indentation, joined, trailing whitespace dropped. */
function dedent(lines) {
  const indents = lines.filter((line) => line.trim() !== '').map((line) => /^ */.exec(line)[0].length);
  const cut = indents.length === 0 ? 0 : Math.min(...indents);
  return lines.map((line) => line.slice(cut)).join('\n').replace(/\s+$/, '');
}

/** The text of `path` (relative to the repository), or of its regions `names` ("a" or "a+b"). */
function region(path, names) {
  const lines = readFileSync(join(ROOT, path), 'utf8').split('\n');
  if (names === undefined) return dedent(lines.filter((line) => !REGION_MARKER.test(line)));
  return names.split('+').map((name) => {
    const start = lines.findIndex((line) => line.trim() === `// #region ${name}`);
    const end = lines.findIndex((line, index) => index > start && line.trim() === `// #endregion ${name}`);
    if (start < 0 || end < 0) throw new Error(`${path} has no region "${name}" (// #region ${name} … // #endregion ${name})`);
    return dedent(lines.slice(start + 1, end).filter((line) => !REGION_MARKER.test(line)));
  }).join('\n\n');
}

/** README.md and docs/*.md, relative to the repository. */
function pages() {
  return ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];
}

/** Rewrites the marked blocks of every page; returns the pages changed. */
function sync() {
  const changed = [];
  for (const file of pages()) {
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
      const body = region(path, names).split('\n').map((line) => (line === '' ? '' : fence[1] + line));
      out.push(lines[open], ...body, lines[end]);
      i = end;
    }
    const text = out.join('\n');
    if (text !== lines.join('\n')) {
      writeFileSync(join(ROOT, file), text);
      changed.push(file);
    }
  }
  return changed;
}

module.exports = { dedent, region, pages };

if (require.main === module) {
  const changed = sync();
  for (const file of changed) console.log(`updated ${file}`);
  console.log(`${changed.length} files updated`);
}
