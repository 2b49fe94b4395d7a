/**
 * Files written from a declaration are what their generator writes today: regenerate with the
 * npm script the failure names. (docs/asyncapi.yaml has its own test, test/unit/asyncapi.test.ts.)
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIGURATION_FILE, configurationMarkdown } from '../../scripts/config-docs.js';
import {
  ACLS_FILE,
  aclsScript,
  CREATE_TOPICS_FILE,
  createTopicsScript,
  OPERATIONS_FILE,
  operationsMarkdown,
  TOPICS_FILE,
  topicsMarkdown,
} from '../../scripts/topic-docs.js';

describe('generated files', () => {
  it('docs/configuration.md: the table of settings is current (npm run docs:config)', () => {
    const committed = readFileSync(CONFIGURATION_FILE, 'utf8');
    expect(committed).toBe(configurationMarkdown(committed));
  });

  it('docs/topics.md: the table of topics is current (npm run docs:topics)', () => {
    const committed = readFileSync(TOPICS_FILE, 'utf8');
    expect(committed).toBe(topicsMarkdown(committed));
  });

  it('docs/operations.md: the table of topic settings is current (npm run docs:topics)', () => {
    const committed = readFileSync(OPERATIONS_FILE, 'utf8');
    expect(committed).toBe(operationsMarkdown(committed));
  });

  it('deploy/compose/create-topics.sh is current (npm run docs:topics)', () => {
    expect(readFileSync(CREATE_TOPICS_FILE, 'utf8')).toBe(createTopicsScript());
  });

  it('deploy/compose/operator-acls.sh is current (npm run docs:topics)', () => {
    expect(readFileSync(ACLS_FILE, 'utf8')).toBe(aclsScript());
  });
});
