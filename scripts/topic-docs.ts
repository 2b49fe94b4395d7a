/**
 * What is written from the topics' declarations (src/kafka/topic-roles.ts) besides the AsyncAPI
 * document: docs/topics.md's table and deploy/compose/create-topics.sh, both at the default
 * settings. `npm run docs:topics` writes them; test/unit/generated-files.test.ts fails when a
 * committed one is not what this builds.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type RetentionConfig } from '../src/config/config.js';
import { operatorResultTopics } from '../src/kafka/result-topics.js';
import type { TopicRole } from '../src/kafka/topic-declaration.js';
import { TOPIC_ROLE_NAMES, TOPIC_ROLES } from '../src/kafka/topic-roles.js';
import { retentionSettings } from '../src/kafka/topic-settings.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { markdownTable, replaceGenerated } from './markdown.js';

export const TOPICS_FILE = join(PACKAGE_ROOT, 'docs/topics.md');
export const OPERATIONS_FILE = join(PACKAGE_ROOT, 'docs/operations.md');
export const CREATE_TOPICS_FILE = join(PACKAGE_ROOT, 'deploy/compose/create-topics.sh');
export const ACLS_FILE = join(PACKAGE_ROOT, 'deploy/compose/operator-acls.sh');

const DAY_MS = 86_400_000;

/** The retention defaults: what the generated files show and create. */
const defaultRetention = (): RetentionConfig => loadConfig({ env: {} }).retention;

/**
 * Each operator's results topic is declared by the results role; its rows name it by the pattern
 * (`results.topicPattern`), one topic per operator of `results.operators`.
 */
function operatorResultsRole(): TopicRole {
  const { results } = loadConfig({ env: {} });
  const operators = results.operators.join(', ');
  return {
    ...TOPIC_ROLES.results,
    name: results.topicPattern.replace('{operator}', '<operator>'),
    about: `one operator's outcomes: one topic per operator of \`results.operators\` (default ${operators}); \`imei.verify.results\` has those of any other`,
    readBy: ['that operator only (Kafka ACLs: deploy/compose/operator-acls.sh)'],
    why: "an operator's answers (no owner or phone), readable by that operator alone",
  };
}

/** Every role's topic, and the operators' results topics after the shared one. */
function documentedTopics(): TopicRole[] {
  return TOPIC_ROLE_NAMES.flatMap((role) =>
    role === 'results' ? [TOPIC_ROLES[role], operatorResultsRole()] : [TOPIC_ROLES[role]],
  );
}

/** A key's pattern (`p/<body>`) as code, so Markdown does not take it for a tag. */
const code = (text: string) => (/[<>]/.test(text) ? `\`${text}\`` : text);

function keptText(topic: TopicRole, retention: RetentionConfig): string {
  const kept = topic.retention;
  switch (kept.kind) {
    case 'days':
      return `${retention[kept.setting].toLocaleString('en').replaceAll(',', ' ')} days (\`retention.${kept.setting}\`)`;
    case 'forgetting':
      return `latest per key; the rest gone within ${retention.compactionLagMs / 3_600_000} h (\`retention.compactionLagMs\`)`;
    case 'forever':
      return 'forever (the archive)';
    case 'kafka':
      return "latest per key (Kafka's defaults)";
  }
}

function partitionsText(topic: TopicRole): string {
  if (topic.scope === 'device') return topic.exact ? 'N, exactly' : 'N or more';
  return topic.partitions === null ? '`kafka.topicPartitions`' : String(topic.partitions);
}

/** One row per topic, under its default name. */
export function topicsTable(): string {
  const retention = defaultRetention();
  return markdownTable(
    ['topic', 'key', 'cleanup', 'kept', 'partitions', 'written by', 'read by', 'what it holds'],
    documentedTopics().map((topic) => {
      return [
        `\`${topic.name}\``,
        code(topic.key),
        topic.cleanup,
        keptText(topic, retention),
        partitionsText(topic),
        topic.writtenBy.join('; '),
        topic.readBy.join('; '),
        `${topic.value.contract ? '' : 'internal: '}${topic.about}`,
      ];
    }),
  );
}

export function topicsMarkdown(current = readFileSync(TOPICS_FILE, 'utf8')): string {
  return replaceGenerated(current, 'topics', 'npm run docs:topics', topicsTable());
}

/** The operators' view: how each topic is created and kept, and why. */
export function topicSettingsTable(): string {
  const retention = defaultRetention();
  return markdownTable(
    ['topic', 'partitions', 'cleanup', 'kept (default setting)', 'other properties', 'why'],
    documentedTopics().map((topic) => {
      return [
        `\`${topic.name}\``,
        partitionsText(topic),
        topic.cleanup,
        keptText(topic, retention),
        Object.entries(topic.properties ?? {})
          .map(([key, value]) => `\`${key}=${value}\``)
          .join(', '),
        topic.why,
      ];
    }),
  );
}

export function operationsMarkdown(current = readFileSync(OPERATIONS_FILE, 'utf8')): string {
  return replaceGenerated(current, 'topic settings', 'npm run docs:topics', topicSettingsTable());
}

/** A topic's `create` line: name, cleanup policy, partitions, then its properties. */
function createLine(topic: TopicRole, retention: RetentionConfig): string {
  const kept = topic.retention;
  const properties: string[] = [];
  if (kept.kind === 'days') properties.push(`retention.ms=$((${retention[kept.setting]} * DAY))`);
  // biome-ignore lint/suspicious/noTemplateCurlyInString: bash's expansion of the FORGET array, written as is.
  else if (kept.kind === 'forgetting') properties.push('"${FORGET[@]}"');
  else
    properties.push(
      ...Object.entries(retentionSettings(kept, retention)).map(([key, value]) => `${key}=${value}`),
    );
  for (const [key, value] of Object.entries(topic.properties ?? {})) properties.push(`${key}=${value}`);
  const partitions = topic.partitions === null ? '"$PARTITIONS"' : String(topic.partitions);
  return ['create', topic.name, topic.cleanup, partitions, ...properties].join(' ');
}

/** deploy/compose/create-topics.sh: every topic, as imeiflow itself would create it at the defaults. */
export function createTopicsScript(): string {
  const retention = defaultRetention();
  return `#!/bin/bash
# Generated by \`npm run docs:topics\` (scripts/topic-docs.ts) from the topics' declarations in
# src/kafka/topic-roles.ts, at the retention defaults of src/config/settings.ts. Do not edit by
# hand: test/unit/generated-files.test.ts fails when this file is not current.
#
# Creates imeiflow's topics (idempotent), as imeiflow creates them on a cluster that lets it
# (docs/topics.md says why each is kept as long as it is). The device topics all get PARTITIONS
# partitions: partition N of each belongs to the owner of the devices whose IMEI body hashes to
# N. The compacted topics holding personal data roll and clean their segments within
# retention.compactionLagMs, and keep a tombstone as long, so what is superseded or destroyed is
# gone from Kafka too.
set -euo pipefail
KT=\${KAFKA_TOPICS:-/opt/kafka/bin/kafka-topics.sh}
until $KT --bootstrap-server "$BOOTSTRAP" --list >/dev/null 2>&1; do echo 'waiting for Kafka'; sleep 2; done
create() { # name cleanup.policy partitions [key=value …]
  local name=$1 cleanup=$2 partitions=$3
  shift 3
  local configs=(--config cleanup.policy="$cleanup" --config min.insync.replicas=2)
  for setting in "$@"; do configs+=(--config "$setting"); done
  $KT --bootstrap-server "$BOOTSTRAP" --create --if-not-exists --topic "$name" \\
    --partitions "$partitions" --replication-factor "$REPLICATION" "\${configs[@]}"
}
DAY=${DAY_MS}
LAG=${retention.compactionLagMs}
FORGET=(segment.ms=$LAG max.compaction.lag.ms=$LAG delete.retention.ms=$LAG)
${TOPIC_ROLE_NAMES.map((role) => createLine(TOPIC_ROLES[role], retention)).join('\n')}
${operatorResultTopics(loadConfig({ env: {} }))
  .map(({ topic }) => createLine({ ...TOPIC_ROLES.results, name: topic }, retention))
  .join('\n')}
$KT --bootstrap-server "$BOOTSTRAP" --describe | grep -E '^Topic:' || true
`;
}

/**
 * deploy/compose/operator-acls.sh: each operator, as the Kafka principal `User:<operator>`, may
 * write requests and read its own results topic and nothing else of imeiflow's, so no operator
 * reads another's outcomes (issue 22; DESIGN.md §4). At the default topics and operators.
 */
export function aclsScript(): string {
  const config = loadConfig({ env: {} });
  const lines = operatorResultTopics(config).map(
    ({ operator, topic }) => `allow ${operator} ${config.topics.requests} ${topic}`,
  );
  return `#!/bin/bash
# Generated by \`npm run docs:topics\` (scripts/topic-docs.ts) from results.operators and
# results.topicPattern (src/config/settings.ts) at their defaults. Do not edit by hand:
# test/unit/generated-files.test.ts fails when this file is not current.
#
# Kafka ACLs for the mobile operators (the cluster needs an authorizer, e.g.
# authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer, and
# allow.everyone.if.no.acl.found=false): each operator, authenticated as User:<operator>, may
# write verification requests and read its own results topic, with consumer groups named
# <operator>.*; it is given nothing else, so it reads no other operator's outcomes.
# imeiflow's own principal needs its ACLs too (every topic of docs/topics.md).
set -euo pipefail
ACLS=\${KAFKA_ACLS:-/opt/kafka/bin/kafka-acls.sh}
allow() { # operator requests-topic results-topic
  local principal="User:$1"
  $ACLS --bootstrap-server "$BOOTSTRAP" --add --allow-principal "$principal" \\
    --operation Write --operation Describe --topic "$2"
  $ACLS --bootstrap-server "$BOOTSTRAP" --add --allow-principal "$principal" \\
    --operation Read --operation Describe --topic "$3"
  $ACLS --bootstrap-server "$BOOTSTRAP" --add --allow-principal "$principal" \\
    --operation Read --group "$1." --resource-pattern-type prefixed
}
${lines.join('\n')}
`;
}
