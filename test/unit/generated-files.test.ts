/**
 * Files written from a declaration are what their generator writes today: regenerate with the
 * npm script the failure names. (docs/asyncapi.yaml has its own test, test/unit/asyncapi.test.ts.)
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIGURATION_FILE, configurationMarkdown } from '../../scripts/config-docs.js';

describe('generated files', () => {
  it('docs/configuration.md: the table of settings is current (npm run docs:config)', () => {
    const committed = readFileSync(CONFIGURATION_FILE, 'utf8');
    expect(committed).toBe(configurationMarkdown(committed));
  });
});
