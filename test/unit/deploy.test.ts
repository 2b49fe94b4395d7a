/**
 * What ships in deploy/ is checked, not just written: promtool validates the Prometheus config
 * and rules and runs the rules' unit tests; every metric the dashboard and the alerts use
 * exists in the service's registry.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Metrics } from '../../src/metrics/metrics.js';
import { PACKAGE_ROOT } from '../../src/paths.js';

const deploy = (file: string) => join(PACKAGE_ROOT, 'deploy', file);

function promtool(...args: string[]): string {
  // promtool comes from Debian's prometheus package; .ci/run installs it.
  return execFileSync('promtool', args, {
    cwd: deploy('prometheus'),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Metric names a PromQL expression refers to (imeiflow's own, plus `up`). */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b(imeiflow_[a-z_]+)\b/g)].map((m) => m[1]!.replace(/_(bucket|count|sum)$/, ''));
}

async function knownMetrics(): Promise<Set<string>> {
  const metrics = new Metrics();
  const names = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
  return names;
}

describe('deploy/prometheus', () => {
  it('promtool accepts the configuration and the rules', () => {
    expect(promtool('check', 'config', 'prometheus.yml')).toContain('SUCCESS');
    expect(promtool('check', 'rules', 'alerts.yml')).toContain('SUCCESS: 8 rules found');
  });

  it('the alert rules pass their promtool unit tests', () => {
    expect(promtool('test', 'rules', 'alerts.test.yml')).toContain('SUCCESS');
  });

  it('every alert uses metrics the service exports', async () => {
    const known = await knownMetrics();
    const rules = parse(readFileSync(deploy('prometheus/alerts.yml'), 'utf8')) as {
      groups: { rules: { alert: string; expr: string }[] }[];
    };
    for (const rule of rules.groups.flatMap((g) => g.rules)) {
      for (const name of metricsIn(rule.expr)) expect(known.has(name), `${rule.alert}: ${name}`).toBe(true);
    }
  });
});

describe('deploy/grafana', () => {
  it('the dashboard parses and every panel queries metrics the service exports', async () => {
    const known = await knownMetrics();
    const dashboard = JSON.parse(readFileSync(deploy('grafana/dashboards/imeiflow.json'), 'utf8')) as {
      uid: string;
      panels: { title: string; targets: { expr: string }[] }[];
    };
    expect(dashboard.uid).toBe('imeiflow');
    expect(dashboard.panels.length).toBeGreaterThan(10);
    for (const panel of dashboard.panels) {
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets) {
        for (const name of metricsIn(target.expr))
          expect(known.has(name), `${panel.title}: ${name}`).toBe(true);
      }
    }
  });

  it('the provisioning points at the dashboard and the Prometheus data source', () => {
    const datasources = parse(
      readFileSync(deploy('grafana/provisioning/datasources/prometheus.yml'), 'utf8'),
    ) as { datasources: { uid: string }[] };
    expect(datasources.datasources[0]?.uid).toBe('prometheus');
    const providers = parse(readFileSync(deploy('grafana/provisioning/dashboards/imeiflow.yml'), 'utf8')) as {
      providers: { type: string }[];
    };
    expect(providers.providers[0]?.type).toBe('file');
  });
});
