// spec/testing/docs-copies.spec.ts
// Code pasted into docs/*.md from a file of this repository must stay that file: a block right
// after `<!-- file: <path> … -->` is compared with the file, character for character. (The file
// itself is compiled and run by CI; the copy would otherwise rot unseen.)
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const MARKER = /<!-- file: (\S+)[^>]*-->\n```[a-z]*\n([\s\S]*?)```/g;

/** Every marked copy in docs/: the page, the file named, and the pasted text. */
function copies(): Array<{ page: string; file: string; pasted: string }> {
  return readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .flatMap((name) => [...readFileSync(join(ROOT, 'docs', name), 'utf8').matchAll(MARKER)].map((match) => ({ page: `docs/${name}`, file: match[1], pasted: match[2] })));
}

describe('code copied into docs/ from repository files', () => {
  it('docs/testing.md carries the whole jest + supertest example', () => {
    expect(copies().filter((copy) => copy.page === 'docs/testing.md').map((copy) => copy.file)).toEqual(['examples/testing/protected-route.test.ts']);
  });

  it.each(copies().map((copy) => [`${copy.page} ← ${copy.file}`, copy] as const))('%s is identical to the file', (_title, copy) => {
    expect(copy.pasted).toBe(readFileSync(join(ROOT, copy.file), 'utf8'));
  });
});
