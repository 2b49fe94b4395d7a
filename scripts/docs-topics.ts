/**
 * `npm run docs:topics`: writes the topic tables of docs/topics.md and docs/operations.md, and
 * deploy/compose/create-topics.sh and operator-acls.sh, from the topics' declarations (scripts/topic-docs.ts).
 */
import { writeFileSync } from 'node:fs';
import {
  ACLS_FILE,
  aclsScript,
  CREATE_TOPICS_FILE,
  createTopicsScript,
  OPERATIONS_FILE,
  operationsMarkdown,
  TOPICS_FILE,
  topicsMarkdown,
} from './topic-docs.js';

writeFileSync(TOPICS_FILE, topicsMarkdown());
writeFileSync(OPERATIONS_FILE, operationsMarkdown());
writeFileSync(CREATE_TOPICS_FILE, createTopicsScript(), { mode: 0o755 });
writeFileSync(ACLS_FILE, aclsScript(), { mode: 0o755 });
for (const file of [TOPICS_FILE, OPERATIONS_FILE, CREATE_TOPICS_FILE, ACLS_FILE])
  process.stdout.write(`wrote ${file}\n`);
