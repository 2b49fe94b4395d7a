/** promtool (Debian's prometheus package) validates the Prometheus config and alert rules and runs their unit tests. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { useRig } from '../support/rig.js';

function promtool(...args: string[]): string {
  return execFileSync('promtool', args, {
    cwd: join(PACKAGE_ROOT, 'deploy/prometheus'),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

useRig({ name: 'promtool', tools: ['promtool'] });

describe('deploy/prometheus under promtool', () => {
  it('accepts the configuration and the rules', () => {
    expect(promtool('check', 'config', 'prometheus.yml')).toContain('SUCCESS');
    const rules = parse(readFileSync(join(PACKAGE_ROOT, 'deploy/prometheus/alerts.yml'), 'utf8')) as {
      groups: { rules: unknown[] }[];
    };
    const count = rules.groups.reduce((n, g) => n + g.rules.length, 0);
    expect(promtool('check', 'rules', 'alerts.yml')).toContain(`SUCCESS: ${count} rules found`);
  });

  it('the alert rules pass their promtool unit tests', () => {
    expect(promtool('test', 'rules', 'alerts.test.yml')).toContain('SUCCESS');
  });
});
