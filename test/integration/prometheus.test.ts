/**
 * Debian's Prometheus server scrapes the running service; its query API then answers with the
 * outcome counter for the requests we sent.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { APPLE, imei } from '../support/fixtures.js';
import { freePort, seeded, stopChild, useRig } from '../support/rig.js';

const rig = useRig({
  name: 'prom',
  tools: ['prometheus'],
  stores: { data: seeded() },
  kafka: { collect: ['results'] },
  service: { store: 'data' },
});
const { topics, root } = rig;
let prometheus: ChildProcess | undefined;
let prometheusPort: number;
// Waited for: the rig then removes the directory Prometheus keeps its database in.
rig.onTeardown(() => (prometheus === undefined ? undefined : stopChild(prometheus)));

// After the rig's set-up: Prometheus scrapes the service it started.
beforeAll(async () => {
  prometheusPort = await freePort();
  const config = join(root, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      '  - job_name: imeiflow',
      `    static_configs: [{ targets: ['127.0.0.1:${rig.service.port}'] }]`,
    ].join('\n'),
  );
  prometheus = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(root, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${prometheusPort}`,
    ],
    { stdio: 'ignore' },
  );
});

async function query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const response = await fetch(
    `http://127.0.0.1:${prometheusPort}/api/v1/query?query=${encodeURIComponent(promql)}`,
  );
  const body = (await response.json()) as {
    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  return body.data.result;
}

describe('Prometheus scraping the service', () => {
  it('sees the outcome counter for the requests sent', async () => {
    for (let i = 0; i < 5; i++) {
      rig.producer.sendJson(topics.requests!, `k${i}`, {
        requestId: `p-${i}`,
        imei: imei('99999999', i + 1),
        operator: 'kcell',
        channel: 'import',
      });
    }
    rig.producer.sendJson(topics.requests!, 'ok', {
      requestId: 'p-ok',
      imei: imei(APPLE, 3),
      operator: 'kcell',
      channel: 'import',
    });
    await rig.producer.flush();
    await rig.collector.waitFor(() => rig.collector.of(topics.results!).length >= 6, 30_000, 'the outcomes');

    const deadline = Date.now() + 60_000;
    let series: Awaited<ReturnType<typeof query>> = [];
    while (Date.now() < deadline) {
      try {
        series = await query('imeiflow_outcomes_total{outcome="rejected",reason="tac_unknown"}');
        if (series.length > 0 && Number(series[0]!.value[1]) >= 5) break;
      } catch {
        // Prometheus is still starting.
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(series[0]?.metric).toMatchObject({ job: 'imeiflow', outcome: 'rejected', reason: 'tac_unknown' });
    expect(Number(series[0]?.value[1])).toBe(5);
    const up = await query('up{job="imeiflow"}');
    expect(up[0]?.value[1]).toBe('1');
  });
});
