/**
 * Every citation of the regulations (the seeds) and of the blueprint (DESIGN.md) resolves inside
 * the repository: a seed citation to an anchor of docs/regulation.md, "DESIGN.md §N" to numbered
 * section N of docs/design.md. The forms in use, all read here:
 *
 *   seed 000 §10            seed 000 §4(6)          seed 000 §4 4)          seed 001 §23–24
 *   seed 001 §25, §31       seed 001 §2, §5–6       seed 000 §11, appendix 2
 *   seed 000 appendix 1     seed 000, appendix 2    seed 000, §8            seed 000, ch. 3
 *   seed 004, appendix 7, row 7                     seed 001 (a whole document)
 *   seeds 002, 003          seeds 002 §8(3) and 003                         Seed 000 §11
 *   DESIGN.md §4            DESIGN.md §4, Delivery
 *
 * A citation may wrap onto the next line of a comment. The scan covers the .ts and .mjs files of
 * src/, bench/, scripts/ and test/, the .md, .yaml, .yml, .json and .sh files of docs/, deploy/
 * and config/, and README.md — all but this file, whose examples include citations of nothing.
 * A second check: every relative link in README.md and docs/*.md reaches its file and heading.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/paths.js';

const SELF = 'test/unit/citations.test.ts';
const REGULATION = 'docs/regulation.md';
const DESIGN = 'docs/design.md';

const read = (file: string) => readFileSync(join(PACKAGE_ROOT, file), 'utf8');

// ---------------------------------------------------------------------------------------------
// Citations

/** `§10`, `§4(6)`, `§4 4)` (the law's own sub-point style), `§10–11`. */
const SECTION = String.raw`§\s*\d+(?:\s*\(\d+\)|\s+\d+\))?(?:\s*[–-]\s*\d+)?`;
/** `appendix 2`, `appendix 7, row 7`. */
const APPENDIX = String.raw`appendix\s+\d+(?:\s*,\s*row\s+\d+)?`;
/** `ch. 3`, `chapter 3`. */
const CHAPTER = String.raw`ch(?:apter\s+|\.\s*)\d+`;
const PART = `(?:${SECTION}|${APPENDIX}|${CHAPTER})`;
const PARTS = String.raw`(?:,?\s*${PART}(?:\s*(?:,|and)\s*${PART})*)?`;
/** "seed 000 …", "seeds 002, 003", "seeds 002 §8(3) and 003". */
const SEED_CITATION = new RegExp(
  String.raw`\bseeds?\s+00\d\b${PARTS}(?:\s*(?:,|and)\s*00\d\b${PARTS})*`,
  'giu',
);
/** The pieces of one seed citation, in order: a document, then what of it is cited. */
const SEED_TOKEN =
  /(?<![\d§])(00\d)\b|§\s*(\d+)(?:\s*\((\d+)\)|\s+(\d+)\))?(?:\s*[–-]\s*(\d+))?|appendix\s+(\d+)(?:\s*,\s*row\s+(\d+))?|ch(?:apter\s+|\.\s*)(\d+)/giu;
const SECTION_NUMBERS = String.raw`§\s*\d+(?:\s*[–-]\s*\d+)?`;
/** "DESIGN.md §4", "DESIGN.md §4, §6", "docs/design.md §2–3". */
const DESIGN_CITATION = new RegExp(
  String.raw`\bdesign\.md,?\s*${SECTION_NUMBERS}(?:\s*,\s*${SECTION_NUMBERS})*`,
  'giu',
);

/** N–M as the list N, N+1, …, M (a range the wrong way round is its first number only). */
function numbers(from: string, to: string | undefined): number[] {
  const first = Number(from);
  const last = to === undefined ? first : Number(to);
  if (last <= first || last - first > 50) return [first];
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

/** The anchors a citation needs: `seed-000-s10`, `seed-000-s4-6`, `seed-004-appendix-7-row-7`, `design-4`. */
function citedKeys(citation: string): string[] {
  if (/design\.md/i.test(citation)) {
    return [...citation.matchAll(/§\s*(\d+)(?:\s*[–-]\s*(\d+))?/gu)].flatMap((m) =>
      numbers(m[1]!, m[2]).map((n) => `design-${n}`),
    );
  }
  const keys: string[] = [];
  let doc: string | undefined;
  let docHasParts = false;
  const closeDoc = () => {
    if (doc !== undefined && !docHasParts) keys.push(`seed-${doc}`);
  };
  for (const m of citation.matchAll(SEED_TOKEN)) {
    const [, document, section, sub, subLegal, sectionTo, appendix, row, chapter] = m;
    if (document !== undefined) {
      closeDoc();
      doc = document;
      docHasParts = false;
      continue;
    }
    if (doc === undefined) continue;
    docHasParts = true;
    const seed = `seed-${doc}`;
    if (section !== undefined) {
      const point = sub ?? subLegal;
      if (point !== undefined) keys.push(`${seed}-s${section}-${point}`);
      else keys.push(...numbers(section, sectionTo).map((n) => `${seed}-s${n}`));
    } else if (appendix !== undefined) {
      keys.push(
        row === undefined ? `${seed}-appendix-${appendix}` : `${seed}-appendix-${appendix}-row-${row}`,
      );
    } else if (chapter !== undefined) {
      keys.push(`${seed}-ch-${chapter}`);
    }
  }
  closeDoc();
  return keys;
}

/** The `id="…"` anchors of docs/regulation.md. */
function regulationAnchors(): string[] {
  return [...read(REGULATION).matchAll(/\bid="([^"]+)"/gu)].map((m) => m[1]!);
}

/** The numbered sections of docs/design.md (`## 4. The contract` → `design-4`). */
function designSections(): Set<string> {
  return new Set([...read(DESIGN).matchAll(/^## (\d+)\. /gmu)].map((m) => `design-${m[1]}`));
}

const ANCHORS = new Set([...regulationAnchors(), ...designSections()]);

/** Whether each anchor a citation needs exists; a citation that names nothing resolves to nothing. */
function resolve(citation: string): { key: string; resolved: boolean }[] {
  const keys = citedKeys(citation);
  if (keys.length === 0) return [{ key: '(nothing cited)', resolved: false }];
  return keys.map((key) => ({ key, resolved: ANCHORS.has(key) }));
}

const SCANNED: readonly { dir: string; extensions: readonly string[] }[] = [
  { dir: 'src', extensions: ['.ts', '.mjs'] },
  { dir: 'bench', extensions: ['.ts', '.mjs'] },
  { dir: 'scripts', extensions: ['.ts', '.mjs'] },
  { dir: 'test', extensions: ['.ts', '.mjs'] },
  { dir: 'docs', extensions: ['.md', '.yaml', '.yml', '.json'] },
  { dir: 'deploy', extensions: ['.md', '.yaml', '.yml', '.json', '.sh'] },
  { dir: 'config', extensions: ['.md', '.yaml', '.yml', '.json'] },
];
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'secrets', 'results']);

function filesUnder(dir: string, extensions: readonly string[]): string[] {
  const absolute = join(PACKAGE_ROOT, dir);
  if (!existsSync(absolute)) return [];
  return readdirSync(absolute, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return SKIPPED_DIRS.has(entry.name) ? [] : filesUnder(path, extensions);
    return entry.isFile() && extensions.includes(extname(entry.name)) ? [path] : [];
  });
}

function scannedFiles(): string[] {
  return [...SCANNED.flatMap(({ dir, extensions }) => filesUnder(dir, extensions)), 'README.md'].filter(
    (file) => file !== SELF,
  );
}

/** Comment markers at the start of a line blanked (same length), so a wrapped citation reads on. */
function blankCommentMarkers(text: string): string {
  return text.replace(/^[ \t]*(?:\/\/|\/?\*+|#+|>)/gmu, (marker) => ' '.repeat(marker.length));
}

interface Citation {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

function citationsIn(file: string): Citation[] {
  const original = read(file);
  const text = blankCommentMarkers(original);
  const found: Citation[] = [];
  for (const pattern of [SEED_CITATION, DESIGN_CITATION]) {
    for (const m of text.matchAll(pattern)) {
      const line = original.slice(0, m.index).split('\n').length;
      found.push({ file, line, text: m[0].replace(/\s+/gu, ' ') });
    }
  }
  return found;
}

describe('citations of the seeds and of DESIGN.md', () => {
  it('are read in every form the tree uses', () => {
    const examples: [string, string[]][] = [
      ['seed 000 §10', ['seed-000-s10']],
      ['Seed 000 §11: the month', ['seed-000-s11']],
      ['seed 000 §4(6)', ['seed-000-s4-6']],
      ['seed 000 §4 4))', ['seed-000-s4-4']],
      ['seed 001 §23–24', ['seed-001-s23', 'seed-001-s24']],
      ['seed 000 §10–11', ['seed-000-s10', 'seed-000-s11']],
      ['seed 001 §25, §31', ['seed-001-s25', 'seed-001-s31']],
      ['seed 001 §2, §5–6', ['seed-001-s2', 'seed-001-s5', 'seed-001-s6']],
      ['seed 000 §11, appendix 2', ['seed-000-s11', 'seed-000-appendix-2']],
      ['seed 000 appendix 1', ['seed-000-appendix-1']],
      ['seed 000, appendix 2', ['seed-000-appendix-2']],
      ['seed 000, §8', ['seed-000-s8']],
      ['seed 000, ch. 3', ['seed-000-ch-3']],
      ['seed 004, appendix 7, row 7', ['seed-004-appendix-7-row-7']],
      ['seed 004 Appendix 7, row 7', ['seed-004-appendix-7-row-7']],
      ['seed 001', ['seed-001']],
      ['seeds 002, 003', ['seed-002', 'seed-003']],
      ['seeds 002 §8(3) and 003', ['seed-002-s8-3', 'seed-003']],
      ['DESIGN.md §4', ['design-4']],
      ['DESIGN.md §2–3', ['design-2', 'design-3']],
    ];
    for (const [citation, keys] of examples) {
      // Found in running text the way the scan finds it, then resolved.
      const found = [
        ...`(${citation}).`.matchAll(/design\.md/i.test(citation) ? DESIGN_CITATION : SEED_CITATION),
      ];
      expect(found.length, citation).toBe(1);
      expect(citedKeys(found[0]![0]), citation).toEqual(keys);
      expect(
        resolve(found[0]![0]).filter((r) => !r.resolved),
        citation,
      ).toEqual([]);
    }
  });

  it('a citation of nothing does not resolve', () => {
    for (const bogus of [
      'seed 000 §999',
      'seed 005',
      'seed 004, appendix 7, row 99',
      'seed 001 §14(9)',
      'DESIGN.md §9',
    ]) {
      expect(
        resolve(bogus).some((r) => !r.resolved),
        bogus,
      ).toBe(true);
    }
    expect(resolve('no citation here')).toEqual([{ key: '(nothing cited)', resolved: false }]);
  });

  it('a citation wrapped onto the next comment line is read whole', () => {
    const text = blankCommentMarkers(' * import from another member state (seed 000\n * §4(6)) and\n');
    expect([...text.matchAll(SEED_CITATION)].map((m) => citedKeys(m[0]))).toEqual([['seed-000-s4-6']]);
  });

  it('every citation in the tree resolves to docs/regulation.md or docs/design.md', () => {
    const citations = scannedFiles().flatMap(citationsIn);
    // The scan finds what is there: the code cites the seeds and DESIGN.md dozens of times.
    expect(citations.length).toBeGreaterThan(50);
    expect(citations.some((c) => c.file.startsWith('src/') && c.text.toLowerCase().startsWith('seed'))).toBe(
      true,
    );
    expect(citations.some((c) => c.file.startsWith('src/') && /design\.md/i.test(c.text))).toBe(true);
    const unresolved = citations.flatMap((c) =>
      resolve(c.text)
        .filter((r) => !r.resolved)
        .map(
          (r) => `${c.file}:${c.line}: "${c.text}" needs ${r.key}, which ${REGULATION} and ${DESIGN} lack`,
        ),
    );
    expect(unresolved).toEqual([]);
  });

  it('docs/regulation.md names each anchor once, in the citation scheme', () => {
    const anchors = regulationAnchors();
    expect(anchors.filter((a, i) => anchors.indexOf(a) !== i)).toEqual([]);
    const scheme =
      /^seed-00\d(?:-(?:s\d+(?:-\d+)?|appendix-\d+(?:-row-\d+)?|appendix-numbering|ch-\d+|statuses))?$/u;
    expect(anchors.filter((a) => !scheme.test(a))).toEqual([]);
    expect(designSections().size).toBeGreaterThanOrEqual(7);
  });
});

// ---------------------------------------------------------------------------------------------
// Links

/** A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/gu, '-');
}

const withoutCode = (text: string) => text.replace(/^```[\s\S]*?^```/gmu, '');

/** Every anchor of a Markdown file: its headings' (with GitHub's -1, -2 for repeats) and its ids. */
function markdownAnchors(file: string): Set<string> {
  const text = withoutCode(read(file));
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const m of text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gmu)) {
    const base = slug(m[1]!);
    const count = seen.get(base) ?? 0;
    anchors.add(count === 0 ? base : `${base}-${count}`);
    seen.set(base, count + 1);
  }
  for (const m of text.matchAll(/\bid="([^"]+)"/gu)) anchors.add(m[1]!);
  return anchors;
}

describe('links in the README and docs/', () => {
  it('every relative link reaches its file and, in Markdown, its heading or anchor', () => {
    const files = ['README.md', ...filesUnder('docs', ['.md'])];
    const broken: string[] = [];
    let links = 0;
    for (const file of files) {
      const text = withoutCode(read(file));
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/gu)) {
        const target = m[1]!;
        if (/^[a-z]+:/iu.test(target)) continue;
        links++;
        const [path, anchor] = target.split('#') as [string, string | undefined];
        const targetFile =
          path === '' ? file : relative(PACKAGE_ROOT, join(PACKAGE_ROOT, dirname(file), path));
        if (!existsSync(join(PACKAGE_ROOT, targetFile))) {
          broken.push(`${file}: ${target} (no ${targetFile})`);
        } else if (
          anchor !== undefined &&
          targetFile.endsWith('.md') &&
          !markdownAnchors(targetFile).has(anchor)
        ) {
          broken.push(`${file}: ${target} (no heading or anchor #${anchor} in ${targetFile})`);
        }
      }
    }
    expect(links).toBeGreaterThan(20);
    expect(broken).toEqual([]);
  });
});
