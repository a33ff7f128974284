// spec/security-model/no-outside-references.spec.ts
// The rules this library enforces are its own (docs/security-model.md); nothing in lib/, docs/,
// examples/ or the published package may point at a document outside the repository: no path
// into a sibling project (`../shared/…`, `shared/protocol`), no "security checklist", no
// "checklist A3" / "checklist H 70" item references, no link to the old mapping file. Comments
// cite RFC sections or the rule ids of docs/security-model.md instead.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** What a reference to a document outside the repository looks like. */
const OUTSIDE_REFERENCES: ReadonlyArray<{ readonly what: string; readonly pattern: RegExp }> = [
  { what: 'a path into a sibling project', pattern: /\.\.\/shared\/|\bshared\/protocol\b/i },
  { what: 'the security checklist', pattern: /\bsecurity[- ]checklist\b|\b(?:internal|external|outside) checklist\b/i },
  { what: 'the old mapping file', pattern: /checklist-coverage/i },
  // Item references: "checklist A3", "checklist H 70", "(checklist 27)", "checklist item 27", "checklist A, B".
  { what: 'a checklist item id', pattern: /\b[Cc]hecklist(?:'s)?\s+(?:item\s+)?(?:[A-P]?\s?\d{1,3}\b|[A-P]\b)/ },
];

/** Matches in a text, as "path:line: what: line text" (a match may wrap onto the next line). */
function outsideReferences(path: string, text: string): string[] {
  const lines = text.split('\n');
  return OUTSIDE_REFERENCES.flatMap(({ what, pattern }) =>
    [...text.matchAll(new RegExp(pattern.source, `${pattern.flags}g`))].map((match) => {
      const line = text.slice(0, match.index).split('\n').length;
      return `${path}:${line}: ${what}: ${lines[line - 1].trim().slice(0, 160)}`;
    }),
  );
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : [path];
  });
}

/** The files of `npm pack --dry-run`, from the built tree (npm test builds it first). */
function packedFiles(): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const [report] = JSON.parse(out) as Array<{ files: Array<{ path: string }> }>;
  return report.files.map((file) => file.path);
}

/**
 * README.md lines that still say "checklist …", kept only until the README rewrite lands; each
 * entry must still match a README line, so a fixed line fails here until its entry is removed.
 */

describe('no reference to documents outside the repository', () => {
  it.each(['lib', 'docs', 'examples'])('%s/: none in any file', (dir) => {
    const files = filesUnder(join(ROOT, dir));
    expect(files.length).toBeGreaterThan(0);
    const found = files.flatMap((file) => outsideReferences(relative(ROOT, file), readFileSync(file, 'utf8')));
    expect(found).toEqual([]);
  });

  it('the npm package: none in any packed file (dist, docs, examples, README, CHANGELOG)', () => {
    const files = packedFiles();
    if (!files.includes('dist/index.js')) throw new Error('dist/ is missing from the pack: run `npm run build` (npm test does it in pretest).');
    expect(files).toEqual(expect.arrayContaining(['README.md', 'CHANGELOG.md', 'docs/security-model.md']));
    const found = files.flatMap((file) => outsideReferences(file, readFileSync(join(ROOT, file), 'utf8')));
    expect(found).toEqual([]);
  }, 60_000);

  it('the patterns: what they catch and what they leave alone', () => {
    const caught = [
      'See ../shared/protocol/security-checklist.md',
      'as the security checklist says',
      'Mapping: docs/checklist-coverage.md.',
      '// HTTPS (checklist A3).',
      '(checklist H 70)',
      'the code (checklist 27)',
      'checklist item 27',
      'walks past every per-IP limit (checklist\n  M105).',
      '(checklist M102–M106)',
      'rules of checklist A, B and N',
    ];
    expect(caught.filter((line) => outsideReferences('x', line).length === 0)).toEqual([]);
    const allowed = [
      'rule A3 of docs/security-model.md',
      '(security model rules E45–E52)',
      'a deployment checklist for your proxy',
      'spec/security-model/coverage-doc.spec.ts',
      'a checklist and a plan',
    ];
    expect(allowed.flatMap((line) => outsideReferences('x', line))).toEqual([]);
  });
});
