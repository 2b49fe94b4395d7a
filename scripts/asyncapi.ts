/** `npm run docs:asyncapi`: writes docs/asyncapi.yaml, the Kafka contract (scripts/asyncapi-document.ts). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../src/paths.js';
import { asyncApiYaml } from './asyncapi-document.js';

const file = join(PACKAGE_ROOT, 'docs/asyncapi.yaml');
writeFileSync(file, asyncApiYaml());
process.stdout.write(`wrote ${file}\n`);
