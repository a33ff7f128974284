// spec/docs/links.spec.ts
// Every relative link in the markdown we write resolves: the file exists and, for `#anchor`, so does
// a heading with that GitHub slug (or an explicit `<a id>`). The pages that ship in the npm package
// (README, CHANGELOG, docs/) link only to files that ship too: a link into demo-app/, spec/ or lib/
// would be dead in node_modules, so such paths are written as code, not links.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const PACKED = ['README.md', 'CHANGELOG.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];
const PAGES = [...PACKED, 'demo-app/README.md'];
/** What package.json `files` ships (besides dist/). */
const SHIPPED = (path: string) => /^(docs|examples)\//.test(path) || ['README.md', 'LICENSE', 'CHANGELOG.md'].includes(path);

/** GitHub's heading slug: lower case, punctuation dropped, spaces to dashes. */
const slug = (heading: string) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');

function anchorsOf(path: string): Set<string> {
  const text = readFileSync(join(ROOT, path), 'utf8').replace(/^(`{3,}|~{3,})[\s\S]*?^\1/gm, '');
  const anchors = new Set<string>();
  for (const match of text.matchAll(/^#{1,6} (.*)$/gm)) anchors.add(slug(match[1]));
  for (const match of text.matchAll(/<a id="([^"]+)"/g)) anchors.add(match[1]);
  return anchors;
}

function linksOf(path: string): Array<{ target: string; anchor: string | undefined }> {
  const text = readFileSync(join(ROOT, path), 'utf8').replace(/^(`{3,}|~{3,})[\s\S]*?^\1/gm, '').replace(/`[^`\n]*`/g, '');
  const links: Array<{ target: string; anchor: string | undefined }> = [];
  for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    const href = match[1];
    if (/^[a-z]+:/i.test(href)) continue; // https:, mailto:
    const [file, anchor] = href.split('#');
    links.push({ target: file === '' ? path : normalize(join(dirname(path), file)), anchor });
  }
  return links;
}

describe('markdown links resolve', () => {
  it.each(PAGES)('%s', (page) => {
    const broken: string[] = [];
    for (const { target, anchor } of linksOf(page)) {
      const rel = relative('.', target);
      if (!existsSync(join(ROOT, rel))) broken.push(`${rel} (missing)`);
      else if (anchor !== undefined && rel.endsWith('.md') && !anchorsOf(rel).has(anchor)) broken.push(`${rel}#${anchor} (no such heading)`);
      else if (PACKED.includes(page) && !SHIPPED(rel)) broken.push(`${rel} (not in the npm package: write the path as code)`);
    }
    expect(broken).toEqual([]);
  });

  it('a broken link is caught (the check reads links)', () => {
    expect(linksOf('README.md').length).toBeGreaterThan(20);
    expect(anchorsOf('docs/grants.md').has('refresh_token-policies-rotation-reuse-detection-and-the-retry-window')).toBe(true);
    expect(anchorsOf('docs/grants.md').has('no-such-heading')).toBe(false);
  });
});
