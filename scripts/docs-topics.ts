/**
 * `npm run docs:topics`: writes the topic tables of docs/topics.md and docs/operations.md, and
 * deploy/compose/create-topics.sh, from the topics' declarations (scripts/topic-docs.ts).
 */
import { writeFileSync } from 'node:fs';
import {
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
process.stdout.write(`wrote ${TOPICS_FILE}\nwrote ${OPERATIONS_FILE}\nwrote ${CREATE_TOPICS_FILE}\n`);
