/**
 * docs/asyncapi.yaml, the Kafka contract, is what scripts/asyncapi-document.ts builds from the zod
 * schemas today, and a valid AsyncAPI 3 document by the reference parser.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AsyncAPIDocumentInterface, type Diagnostic, Parser } from '@asyncapi/parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { asyncApiYaml } from '../../scripts/asyncapi-document.js';
import { loadConfig } from '../../src/config/config.js';
import { TOPIC_ROLE_NAMES } from '../../src/kafka/topic-roles.js';
import { PACKAGE_ROOT } from '../../src/paths.js';

const committed = readFileSync(join(PACKAGE_ROOT, 'docs/asyncapi.yaml'), 'utf8');
/** Spectral's DiagnosticSeverity: 0 error, 1 warning, 2 information, 3 hint. */
const WARNING = 1;

describe('docs/asyncapi.yaml', () => {
  let document: AsyncAPIDocumentInterface | undefined;
  let diagnostics: Diagnostic[];
  beforeAll(async () => {
    ({ document, diagnostics } = await new Parser().parse(committed));
  });

  it('is current: regenerating it changes nothing (npm run docs:asyncapi)', () => {
    expect(committed).toBe(asyncApiYaml());
  });

  it('parses with @asyncapi/parser without errors or warnings', () => {
    expect(
      diagnostics
        .filter((d) => d.severity <= WARNING)
        .map((d) => `${d.code} at ${d.path.join('.')}: ${d.message}`),
    ).toEqual([]);
    expect(document?.version()).toMatch(/^3\./);
  });

  it('describes every topic imeiflow uses under its configured name, with a key and a payload', () => {
    const config = loadConfig({ env: {} });
    expect([...TOPIC_ROLE_NAMES].sort()).toEqual(Object.keys(config.topics).sort());
    for (const [role, address] of Object.entries(config.topics)) {
      const channel = document!.channels().get(role);
      expect(channel?.address(), role).toBe(address);
      const messages = channel!.messages().all();
      expect(messages.length, role).toBeGreaterThan(0);
      for (const message of messages) {
        expect(message.hasPayload(), `${role}/${message.id()}`).toBe(true);
        expect(message.bindings().get('kafka')?.value()['key'], `${role}/${message.id()}`).toBeDefined();
      }
      expect(channel!.operations().all().length, role).toBeGreaterThan(0);
    }
  });
});
