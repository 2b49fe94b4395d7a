/**
 * `npm run docs:topics`: writes docs/topics.md's table and deploy/compose/create-topics.sh from the
 * topics' declarations (scripts/topic-docs.ts).
 */
import { writeFileSync } from 'node:fs';
import { CREATE_TOPICS_FILE, createTopicsScript, TOPICS_FILE, topicsMarkdown } from './topic-docs.js';

writeFileSync(TOPICS_FILE, topicsMarkdown());
writeFileSync(CREATE_TOPICS_FILE, createTopicsScript(), { mode: 0o755 });
process.stdout.write(`wrote ${TOPICS_FILE}\nwrote ${CREATE_TOPICS_FILE}\n`);
