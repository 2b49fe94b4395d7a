import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATALOGUE_CODES, REASON_CATALOGUE } from '../../src/domain/reason-catalogue.js';
import {
  EVIDENCE_KINDS,
  FLAG_REASONS,
  PENDING_REASONS,
  REJECT_REASONS,
  REVIEW_REASONS,
} from '../../src/domain/types.js';
import { ERROR_CODES } from '../../src/errors.js';
import { PACKAGE_ROOT } from '../../src/paths.js';

const read = (file: string) => readFileSync(join(PACKAGE_ROOT, file), 'utf8');

describe('documentation agrees with the code', () => {
  it('docs/errors.md lists exactly the error codes', () => {
    const documented = [...read('docs/errors.md').matchAll(/^\| `([A-Z_]+)`\s*\|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual([...ERROR_CODES].sort());
  });

  it('docs/domain.md (Decisions and reason codes) names every reason code and evidence kind of the contract', () => {
    const readme = read('docs/domain.md');
    for (const code of [
      ...REJECT_REASONS,
      ...PENDING_REASONS,
      ...REVIEW_REASONS,
      ...FLAG_REASONS,
      ...EVIDENCE_KINDS,
    ]) {
      expect(readme, code).toContain(`\`${code}\``);
    }
  });
});

describe('the reason catalogue', () => {
  it('docs/reasons.md gives every code in English, Russian and Kazakh, as the code does', () => {
    const rows = [...read('docs/reasons.md').matchAll(/^\| `([a-z_-]+)`\s*\|(.*)\|\s*$/gm)].map((m) => [
      m[1]!,
      m[2]!.split('|').map((cell) => cell.trim()),
    ]);
    const documented = Object.fromEntries(rows);
    expect(Object.keys(documented).sort()).toEqual([...CATALOGUE_CODES].sort());
    for (const code of CATALOGUE_CODES) {
      const { en, ru, kk } = REASON_CATALOGUE[code];
      expect(documented[code], code).toEqual([en, ru, kk]);
    }
  });

  it('no text is left untranslated', () => {
    for (const code of CATALOGUE_CODES) {
      const { en, ru, kk } = REASON_CATALOGUE[code];
      expect(new Set([en, ru, kk]).size, code).toBe(3);
      // Russian and Kazakh texts are in Cyrillic.
      expect(ru, code).toMatch(/[а-яё]/i);
      expect(kk, code).toMatch(/[а-яәғқңөұүһі]/i);
    }
  });
});

describe('problem types', () => {
  it('docs/problems.md lists exactly the problem types', async () => {
    const { PROBLEMS } = await import('../../src/http/problem.js');
    const documented = [...read('docs/problems.md').matchAll(/^\| `([a-z-]+)`\s*\|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(PROBLEMS).sort());
  });
});
