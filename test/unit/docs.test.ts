import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVIDENCE_KINDS, PENDING_REASONS, REJECT_REASONS, REVIEW_REASONS } from '../../src/domain/types.js';
import { ERROR_CODES } from '../../src/errors.js';
import { PACKAGE_ROOT } from '../../src/paths.js';

const read = (file: string) => readFileSync(join(PACKAGE_ROOT, file), 'utf8');

describe('documentation agrees with the code', () => {
  it('docs/errors.md lists exactly the error codes', () => {
    const documented = [...read('docs/errors.md').matchAll(/^\| `([A-Z_]+)`\s*\|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual([...ERROR_CODES].sort());
  });

  it('the README names every reason code and evidence kind of the contract', () => {
    const readme = read('README.md');
    for (const code of [...REJECT_REASONS, ...PENDING_REASONS, ...REVIEW_REASONS, ...EVIDENCE_KINDS]) {
      expect(readme, code).toContain(`\`${code}\``);
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
