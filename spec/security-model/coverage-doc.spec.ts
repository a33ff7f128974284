// spec/security-model/coverage-doc.spec.ts
// docs/security-model.md cannot rot silently: every test it cites in a table
// (`file › describe › … › it`, in backticks) must still exist. The check is by name, read from
// the source with the TypeScript parser: the file exists, its last segment is the title of an
// `it`/`test` (or of a `describe`, for a whole block), and every other segment is a `describe`
// title. Titles of `it.each`/`describe.each` (`%s`, `$name`) and template literals match any text
// in their placeholders; a title held in a `const` of the file is resolved. Shared suites count
// for every file (spec/helpers, the lib/testing kit). Nesting order is not checked.
// A citation starting with `…` continues the file of the previous citation in the same row.
// The rule ids (A1 … P130) are the project's own: each is defined by exactly one row of the doc,
// and every id that docs/decisions.md or a test name uses must be one of them.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

const ROOT = join(__dirname, '..', '..');
const DOC = join(ROOT, 'docs', 'security-model.md');
/** Where suites registered by a function live (their titles count for every spec file). */
const SHARED_SUITE_DIRS = [join(ROOT, 'spec', 'helpers'), join(ROOT, 'lib', 'testing')];

interface Citation {
  /** Where in the doc: line number and the row's first cell. */
  readonly where: string;
  /** As written, for the failure message. */
  readonly text: string;
  /** Path under spec/. */
  readonly file: string;
  /** describe titles …, then the it (or describe) title. */
  readonly segments: readonly string[];
}

interface Titles {
  readonly tests: RegExp[];
  readonly describes: RegExp[];
}

// ---------------------------------------------------------------------------------------------
// The doc: backtick spans with " › " in table rows.

/** The code spans of a markdown line (CommonMark: a run of N backticks closes a run of N). */
function codeSpans(line: string): string[] {
  const spans: string[] = [];
  const re = /(`+)([\s\S]*?[^`])\1(?!`)/g;
  for (let match = re.exec(line); match; match = re.exec(line)) {
    let text = match[2];
    if (text.length > 2 && text.startsWith(' ') && text.endsWith(' ')) text = text.slice(1, -1);
    // GFM tables: a pipe inside a cell, also inside a code span, is written \|.
    spans.push(text.replace(/\\\|/g, '|'));
  }
  return spans;
}

function citationsOf(markdown: string): Citation[] {
  const citations: Citation[] = [];
  markdown.split('\n').forEach((line, index) => {
    if (!line.startsWith('|')) return;
    const where = `docs/security-model.md:${index + 1} (row ${line.split('|')[1].trim()})`;
    let previousFile: string | undefined;
    for (const span of codeSpans(line)) {
      if (!span.includes(' › ')) continue;
      const [head, ...segments] = span.split(' › ').map((part) => part.trim());
      let file: string;
      if (head === '…') {
        if (previousFile === undefined) throw new Error(`${where}: "${span}" starts with … but no citation precedes it in the row`);
        file = previousFile;
      } else if (/\.spec\.ts$/.test(head)) {
        file = head.replace(/^spec\//, '');
      } else {
        continue; // not a test citation (e.g. a path notation in prose)
      }
      previousFile = file;
      citations.push({ where, text: span, file, segments });
    }
  });
  return citations;
}

// ---------------------------------------------------------------------------------------------
// The specs: test and describe titles, from the TypeScript syntax tree.

/** A matcher for a title as jest expands it: printf placeholders, $variables and ${…} match anything. */
function titlePattern(parts: ReadonlyArray<string | null>, each: boolean): RegExp {
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  let source = '';
  for (const part of parts) {
    if (part === null) {
      source += '[\\s\\S]*?';
      continue;
    }
    if (!each) {
      source += escape(part);
      continue;
    }
    // jest's each: %s %d %i %f %j %o %p %# %$ and $name / $name.path; %% is a literal %.
    const pieces = part.split(/(%%|%[sdifjop#$]|\$[A-Za-z_][\w.]*)/);
    for (const piece of pieces) {
      if (piece === '%%') source += '%';
      else if (/^(%[sdifjop#$]|\$[A-Za-z_][\w.]*)$/.test(piece)) source += '[\\s\\S]*?';
      else source += escape(piece);
    }
  }
  return new RegExp(`^${source}$`);
}

/** The callee's root name and whether it is an `.each` form: it, it.each(…), describeWithRedis, test.skip … */
function calleeOf(expression: ts.Expression): { name: string; each: boolean } | undefined {
  let node: ts.Node = expression;
  let each = false;
  // it.each(table)(title, fn) / it.each`table`(title, fn): the callee is itself a call or tagged template.
  if (ts.isCallExpression(node)) node = node.expression;
  else if (ts.isTaggedTemplateExpression(node)) node = node.tag;
  while (ts.isPropertyAccessExpression(node)) {
    if (node.name.text === 'each') each = true;
    node = node.expression;
  }
  return ts.isIdentifier(node) ? { name: node.text, each } : undefined;
}

function titlesOf(file: string, into: Titles): void {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const constants = new Map<string, ts.Expression>();
  const collectConstants = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) constants.set(node.name.text, node.initializer);
    ts.forEachChild(node, collectConstants);
  };
  collectConstants(source);

  /** The literal parts of a title (null for a placeholder), or undefined when it is not a literal. */
  const partsOf = (expression: ts.Expression, depth = 0): Array<string | null> | undefined => {
    if (ts.isStringLiteral(expression) || ts.isNoSubstitutionTemplateLiteral(expression)) return [expression.text];
    if (ts.isTemplateExpression(expression)) {
      const parts: Array<string | null> = [expression.head.text];
      for (const span of expression.templateSpans) parts.push(null, span.literal.text);
      return parts;
    }
    if (ts.isParenthesizedExpression(expression)) return partsOf(expression.expression, depth);
    if (ts.isIdentifier(expression) && depth < 3) {
      const value = constants.get(expression.text);
      return value ? partsOf(value, depth + 1) : undefined;
    }
    return undefined;
  };

  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && node.arguments.length >= 2) {
      const callee = calleeOf(node.expression);
      const kind = callee && (/^(it|test)$/.test(callee.name) ? 'tests' : /^describe/.test(callee.name) ? 'describes' : undefined);
      const parts = kind && partsOf(node.arguments[0]);
      if (kind && parts) into[kind].push(titlePattern(parts, callee.each));
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}

function tsFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return tsFilesUnder(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const shared: Titles = { tests: [], describes: [] };
for (const dir of SHARED_SUITE_DIRS) for (const file of tsFilesUnder(dir)) titlesOf(file, shared);

const cache = new Map<string, Titles>();
function titlesOfSpec(file: string): Titles {
  let titles = cache.get(file);
  if (!titles) {
    titles = { tests: [...shared.tests], describes: [...shared.describes] };
    titlesOf(join(ROOT, 'spec', file), titles);
    cache.set(file, titles);
  }
  return titles;
}

/** What is wrong with a citation, or undefined when every segment names a title of its file. */
function problemOf(citation: Citation): string | undefined {
  if (!existsSync(join(ROOT, 'spec', citation.file))) return `spec/${citation.file} does not exist`;
  const titles = titlesOfSpec(citation.file);
  const matches = (patterns: readonly RegExp[], segment: string) => patterns.some((pattern) => pattern.test(segment));
  const last = citation.segments.length - 1;
  const missing = citation.segments.filter((segment, index) =>
    index === last ? !matches(titles.tests, segment) && !matches(titles.describes, segment) : !matches(titles.describes, segment),
  );
  return missing.length > 0 ? `no ${missing.map((segment) => JSON.stringify(segment)).join(', ')} in spec/${citation.file}` : undefined;
}

// ---------------------------------------------------------------------------------------------
// The rule ids: a letter for the part of the endpoint, a number unique across letters.

const RULE_LETTERS: ReadonlyArray<readonly [letter: string, first: number, last: number]> = [
  ['A', 1, 11], ['B', 12, 27], ['C', 28, 35], ['D', 36, 44], ['E', 45, 52], ['F', 53, 62], ['G', 63, 64], ['H', 65, 73],
  ['I', 74, 79], ['J', 80, 86], ['K', 87, 97], ['L', 98, 101], ['M', 102, 106], ['N', 107, 114], ['O', 115, 117], ['P', 118, 130],
];
const RULE_IDS = RULE_LETTERS.flatMap(([letter, first, last]) => Array.from({ length: last - first + 1 }, (_, i) => `${letter}${first + i}`));
const RULE_ID = /^[A-P]\d{1,3}$/;

interface RuleRow {
  readonly id: string;
  readonly basis: string;
  readonly tests: string;
}

/** The rows that define a rule: | id | what is enforced | basis | tests |. */
function rulesOf(doc: string): RuleRow[] {
  return doc.split('\n').flatMap((line) => {
    const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((cell) => cell.trim());
    return line.startsWith('|') && cells.length === 4 && RULE_ID.test(cells[0]) ? [{ id: cells[0], basis: cells[2], tests: cells[3] }] : [];
  });
}

/** Rule ids used elsewhere: decision rows (`| A7/A8 | …`), "(rule A3)" in titles, ids that start a test name here. */
function usedRuleIds(): Array<{ where: string; id: string }> {
  const used: Array<{ where: string; id: string }> = [];
  const decisions = readFileSync(join(ROOT, 'docs', 'decisions.md'), 'utf8');
  decisions.split('\n').forEach((line, index) => {
    const first = line.startsWith('|') ? line.split('|')[1].trim() : '';
    if (!/^[A-Z]\d+(\/[A-Z]\d+)*$/.test(first)) return;
    for (const id of first.split('/')) used.push({ where: `docs/decisions.md:${index + 1}`, id });
  });
  for (const file of tsFilesUnder(join(ROOT, 'spec'))) {
    const source = readFileSync(file, 'utf8');
    const where = file.slice(ROOT.length + 1);
    for (const match of source.matchAll(/\(rule ([A-Z]\d+)\)/g)) used.push({ where, id: match[1] });
    if (!file.includes(join('spec', 'security-model'))) continue;
    for (const match of source.matchAll(/\b(?:it|test|describe)\(\s*['"`]((?:[A-Z]\d+ )+)/g)) {
      for (const id of match[1].trim().split(' ')) used.push({ where, id });
    }
  }
  return used;
}

// ---------------------------------------------------------------------------------------------

const markdown = readFileSync(DOC, 'utf8');
const citations = citationsOf(markdown);
const rules = rulesOf(markdown);

describe('docs/security-model.md', () => {
  it('cites tests in its tables (the parser found them)', () => {
    // About 320 citations in 30 files: far fewer means the parser no longer sees them.
    expect(citations.length).toBeGreaterThan(200);
    expect(new Set(citations.map((citation) => citation.file)).size).toBeGreaterThan(25);
  });

  it('every cited test exists: the file, each describe title and the it title', () => {
    const problems = citations.flatMap((citation) => {
      const problem = problemOf(citation);
      return problem ? [`${citation.where}: ${problem}\n    cited: ${citation.text}`] : [];
    });
    expect(problems).toEqual([]);
  });

  it('defines every rule id, A1 … P130, exactly once', () => {
    expect(rules.map((rule) => rule.id).sort()).toEqual([...RULE_IDS].sort());
  });

  it('every rule names its basis and cites a test, or says why there is none', () => {
    const bare = rules.filter((rule) => {
      const tested = codeSpans(rule.tests).some((span) => span.includes(' › ')) || /^none: \S|\btests of [A-P]\d+/.test(rule.tests);
      return rule.basis === '' || !tested;
    });
    expect(bare.map((rule) => rule.id)).toEqual([]);
  });

  it('every rule id that docs/decisions.md and the test names use is defined here', () => {
    const used = usedRuleIds();
    // Far fewer means the patterns no longer see them.
    expect(used.filter((use) => use.where.startsWith('docs/')).length).toBeGreaterThan(50);
    expect(used.filter((use) => use.where.startsWith('spec/')).length).toBeGreaterThan(20);
    const defined = new Set(rules.map((rule) => rule.id));
    expect(used.filter((use) => !defined.has(use.id))).toEqual([]);
  });

  it('no row is left as a placeholder', () => {
    const placeholders = markdown.split('\n').filter((line) => line.startsWith('|') && /in progress|TODO|TBD/i.test(line));
    expect(placeholders).toEqual([]);
  });

  it('the checker itself: a renamed test, a missing file and a wrong describe are caught', () => {
    const row = '| 1 | x | MUST | `endpoint/rate-limit.spec.ts › rate limiting › can be turned off`; `… › rate limiting › was renamed`; `endpoint/nope.spec.ts › a › b`; `endpoint/rate-limit.spec.ts › no such block › can be turned off` | |';
    const parsed = citationsOf(row);
    expect(parsed.map((citation) => citation.file)).toEqual(['endpoint/rate-limit.spec.ts', 'endpoint/rate-limit.spec.ts', 'endpoint/nope.spec.ts', 'endpoint/rate-limit.spec.ts']);
    expect(parsed.map(problemOf)).toEqual([
      undefined,
      'no "was renamed" in spec/endpoint/rate-limit.spec.ts',
      'spec/endpoint/nope.spec.ts does not exist',
      'no "no such block" in spec/endpoint/rate-limit.spec.ts',
    ]);
    // Generated names of it.each and a title with a quote in the source.
    const each = citationsOf("| 2 | x | MUST | `key-rotation.spec.ts › several instances (two apps on one storage): the three-step rollout › x leads every step: every live token verifies against both instances' JWKS; each instance signs only with its active key` | |");
    expect(each.map(problemOf)).toEqual([undefined]);
  });
});
