// spec/docs/doc-snippets.spec.ts
// Code in the README and docs/ cannot rot (issue 17, item 3): every TypeScript/JavaScript block a
// user would paste is a copy of a file or a `// #region name` of a file under examples/, which
// `npm run examples` compiles with --strict against the built package and runs. The block is
// preceded by `<!-- example: examples/path.ts#name -->` (a whole file without `#name`; `#a+b` for two
// regions, joined by a blank line) and must equal that region, dedented. A block that is not code to paste (a type's shape, a request on the
// wire) says so with `<!-- illustration: why -->`.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// The region reader the sync script uses (one implementation for the check and the rewrite).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { dedent, region, pages } = require('../../scripts/doc-snippets.cjs') as {
  dedent(lines: readonly string[]): string;
  region(path: string, names: string | undefined): string;
  pages(): string[];
};

const ROOT = join(__dirname, '..', '..');
const CODE_LANGUAGES = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs', 'cjs', 'tsx']);

interface Block {
  readonly file: string;
  readonly line: number;
  readonly language: string;
  readonly marker: string | undefined;
  readonly content: string;
}

function blocksOf(file: string): Block[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]);
    if (!open) continue;
    const fence = open[2];
    let end = i + 1;
    while (end < lines.length && !lines[end].trim().startsWith(fence)) end += 1;
    let before = i - 1;
    while (before >= 0 && lines[before].trim() === '') before -= 1;
    const marker = before >= 0 ? /^\s*<!--\s*((?:example|illustration):.*?)\s*-->\s*$/.exec(lines[before])?.[1] : undefined;
    blocks.push({ file, line: i + 1, language: open[3].toLowerCase(), marker, content: dedent(lines.slice(i + 1, end)) });
    i = end;
  }
  return blocks;
}

const DOCS = pages();
const CODE_BLOCKS = DOCS.flatMap(blocksOf).filter((block) => CODE_LANGUAGES.has(block.language));

describe('code blocks in README.md and docs/ are copies of examples/ (compiled and run by CI)', () => {
  it('finds the blocks (the check reads something)', () => {
    expect(CODE_BLOCKS.length).toBeGreaterThan(20);
    expect(CODE_BLOCKS.filter((block) => block.marker?.startsWith('example:')).length).toBeGreaterThan(15);
  });

  it.each(CODE_BLOCKS.map((block) => [`${block.file}:${block.line}`, block] as const))('%s', (_where, block) => {
    if (block.marker === undefined) {
      throw new Error(`${block.file}:${block.line}: a ${block.language} block without <!-- example: examples/… --> (or <!-- illustration: why -->) before it`);
    }
    if (block.marker.startsWith('illustration:')) {
      expect(block.marker.slice('illustration:'.length).trim().length).toBeGreaterThan(10); // says why
      return;
    }
    const target = block.marker.slice('example:'.length).trim();
    const [path, name] = target.split('#');
    expect(path).toMatch(/^examples\//);
    expect(existsSync(join(ROOT, path))).toBe(true);
    expect(block.content).toBe(region(path, name));
  });

  it('a wrong copy fails the check (the comparison is real)', () => {
    const example = CODE_BLOCKS.find((block) => block.marker?.startsWith('example:'))!;
    const [path, name] = example.marker!.slice('example:'.length).trim().split('#');
    expect(`${example.content}\n// edited`).not.toBe(region(path, name));
  });
});
