/** `npm run docs:config`: writes docs/configuration.md's table of settings (scripts/config-docs.ts). */
import { writeFileSync } from 'node:fs';
import { CONFIGURATION_FILE, configurationMarkdown } from './config-docs.js';

writeFileSync(CONFIGURATION_FILE, configurationMarkdown());
process.stdout.write(`wrote ${CONFIGURATION_FILE}\n`);
