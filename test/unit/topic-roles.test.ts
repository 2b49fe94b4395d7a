/**
 * The topic declarations (src/kafka/topic-roles.ts) agree with the batch contract's binary codes:
 * an input's index in INPUT_ROLES is its input kind, an output's in OUTPUT_ROLES its role code.
 */
import { describe, expect, it } from 'vitest';
import { INPUT_ROLES, TOPIC_ROLE_NAMES, TOPIC_ROLES } from '../../src/kafka/topic-roles.js';
import {
  INPUT_COMMAND,
  INPUT_FORWARDED,
  INPUT_REQUEST,
  OUTPUT_ROLES,
  ROLE_CONFIRMATIONS,
  ROLE_DLQ,
  ROLE_PENDING_CHANGELOG,
  ROLE_REPARTITION,
  ROLE_RESULTS,
  ROLE_REVOCATIONS,
} from '../../src/pool/batch-contract.js';

describe('topic roles', () => {
  it("an input topic's index is the batch contract's input kind", () => {
    expect(INPUT_ROLES[INPUT_REQUEST]).toBe('requests');
    expect(INPUT_ROLES[INPUT_FORWARDED]).toBe('repartition');
    expect(INPUT_ROLES[INPUT_COMMAND]).toBe('commands');
  });

  it("every output role is a device topic, at the batch contract's role code", () => {
    expect(OUTPUT_ROLES[ROLE_RESULTS]).toBe('results');
    expect(OUTPUT_ROLES[ROLE_CONFIRMATIONS]).toBe('confirmations');
    expect(OUTPUT_ROLES[ROLE_DLQ]).toBe('dlq');
    expect(OUTPUT_ROLES[ROLE_REVOCATIONS]).toBe('revocations');
    expect(OUTPUT_ROLES[ROLE_PENDING_CHANGELOG]).toBe('pendingChangelog');
    expect(OUTPUT_ROLES[ROLE_REPARTITION]).toBe('repartition');
    for (const role of [...INPUT_ROLES, ...OUTPUT_ROLES])
      expect(TOPIC_ROLES[role].scope, role).toBe('device');
  });

  it('each topic has its own name and variable, IMEIFLOW_TOPIC_ and its role', () => {
    const names = TOPIC_ROLE_NAMES.map((role) => TOPIC_ROLES[role].name);
    expect(new Set(names).size).toBe(names.length);
    for (const role of TOPIC_ROLE_NAMES)
      expect(TOPIC_ROLES[role].env).toBe(
        `IMEIFLOW_TOPIC_${role.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`,
      );
  });

  it('a contract topic has a key schema and a schema per message; an internal one has neither', () => {
    for (const role of TOPIC_ROLE_NAMES) {
      const topic = TOPIC_ROLES[role];
      if (topic.value.contract) {
        expect(topic.keySchema, role).toBeDefined();
        expect(topic.value.messages.length, role).toBeGreaterThan(0);
      } else expect('keySchema' in topic, role).toBe(false);
    }
  });
});
