/**
 * What ships in deploy/ is checked, not just written: every metric the dashboard and the alerts
 * use exists in the service's registry (promtool's own checks are in
 * test/integration/promtool.test.ts: they need Debian's prometheus package).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/config.js';
import { configuredTopics } from '../../src/kafka/result-topics.js';
import { TOPIC_ROLES } from '../../src/kafka/topic-roles.js';
import { topicSettings } from '../../src/kafka/topic-settings.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import type { GaugeTable } from '../../src/runtime/component.js';
import { tempDir } from '../support/tmp.js';

const deploy = (file: string) => join(PACKAGE_ROOT, 'deploy', file);
const configDir = tempDir();

/** Metric names a PromQL expression refers to (imeiflow's own, plus `up`). */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b(imeiflow_[a-z_]+)\b/g)].map((m) => m[1]!.replace(/_(bucket|count|sum)$/, ''));
}

/**
 * The gauges the components declare beside themselves (src/runtime/component.ts): every
 * `export const …_GAUGES` of src/, found in the sources so that a new one needs no list here.
 */
async function componentGauges(): Promise<string[]> {
  const src = join(PACKAGE_ROOT, 'src');
  const declaring = (readdirSync(src, { recursive: true }) as string[]).filter(
    (file) =>
      file.endsWith('.ts') && /^export const \w+_GAUGES\b/m.test(readFileSync(join(src, file), 'utf8')),
  );
  expect(declaring.length).toBeGreaterThan(3);
  const names: string[] = [];
  for (const file of declaring) {
    const module = (await import(join(src, file))) as Record<string, unknown>;
    for (const [name, table] of Object.entries(module))
      if (name.endsWith('_GAUGES'))
        names.push(...(table as GaugeTable<unknown>).map((g) => `imeiflow_${g.name}`));
  }
  return names;
}

async function knownMetrics(): Promise<Set<string>> {
  const metrics = new Metrics();
  const names = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
  for (const name of await componentGauges()) names.add(name);
  return names;
}

describe('deploy/prometheus', () => {
  it('every alert uses metrics the service exports', async () => {
    const known = await knownMetrics();
    const rules = parse(readFileSync(deploy('prometheus/alerts.yml'), 'utf8')) as {
      groups: { rules: { alert: string; expr: string }[] }[];
    };
    for (const rule of rules.groups.flatMap((g) => g.rules)) {
      for (const name of metricsIn(rule.expr)) expect(known.has(name), `${rule.alert}: ${name}`).toBe(true);
    }
  });

  it("every alert has its row in docs/operations.md's table (what it means, what to do), and no other", () => {
    const rules = parse(readFileSync(deploy('prometheus/alerts.yml'), 'utf8')) as {
      groups: { rules: { alert: string }[] }[];
    };
    const alerts = rules.groups.flatMap((g) => g.rules.map((r) => r.alert)).sort();
    const operations = readFileSync(join(PACKAGE_ROOT, 'docs/operations.md'), 'utf8');
    const rows = [...operations.matchAll(/^\| `(Imeiflow[A-Za-z]+)` +\|/gm)].map((m) => m[1]!).sort();
    expect(rows).toEqual(alerts);
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

describe('deploy/k8s and deploy/compose', () => {
  type Doc = { kind: string; metadata: { name: string }; spec: Record<string, unknown> } & Record<
    string,
    unknown
  >;
  const docs = parseAllDocuments(readFileSync(deploy('k8s/imeiflow.yaml'), 'utf8')).map(
    (d) => d.toJS() as Doc,
  );
  const byKind = (kind: string) => docs.find((d) => d.kind === kind)!;
  const dockerfile = readFileSync(join(PACKAGE_ROOT, 'Dockerfile'), 'utf8');

  it('the manifests hold the parts an operator needs', () => {
    expect(docs.map((d) => d.kind).sort()).toEqual(
      [
        'ConfigMap',
        'Namespace',
        'PodDisruptionBudget',
        'Service',
        'Service',
        'ServiceMonitor',
        'StatefulSet',
      ].sort(),
    );
  });

  it('probes, ports, volumes and selectors agree', () => {
    const sts = byKind('StatefulSet') as unknown as {
      spec: {
        serviceName: string;
        selector: { matchLabels: Record<string, string> };
        template: {
          metadata: { labels: Record<string, string> };
          spec: { securityContext: { runAsNonRoot: boolean }; containers: Container[] };
        };
        volumeClaimTemplates: { metadata: { name: string } }[];
      };
    };
    type Container = {
      ports: { name: string; containerPort: number }[];
      env: { name: string; value: string }[];
      readinessProbe: { httpGet: { path: string; port: string } };
      livenessProbe: { httpGet: { path: string; port: string } };
      volumeMounts: { name: string; mountPath: string }[];
      resources: { requests: Record<string, string> };
    };
    const container = sts.spec.template.spec.containers[0]!;
    const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));
    // The control plane has a certificate: the probes speak HTTPS.
    expect(env['IMEIFLOW_HTTP_TLS_CERT_FILE']).toBeDefined();
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http', scheme: 'HTTPS' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http', scheme: 'HTTPS' });
    expect(container.ports).toEqual([{ name: 'http', containerPort: Number(env['IMEIFLOW_HTTP_PORT']) }]);
    expect(dockerfile).toContain(`EXPOSE ${env['IMEIFLOW_HTTP_PORT']}`);
    expect(container.resources.requests['cpu']).toBeDefined();
    expect(sts.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    const dataMount = container.volumeMounts.find(
      (m) => m.name === sts.spec.volumeClaimTemplates[0]!.metadata.name,
    )!;
    expect(dataMount.mountPath).toBe(env['IMEIFLOW_DATA_DIR']);
    expect(sts.spec.template.metadata.labels).toMatchObject(sts.spec.selector.matchLabels);
    const services = docs.filter((d) => d.kind === 'Service') as unknown as {
      metadata: { name: string };
      spec: { selector: Record<string, string>; ports: { targetPort: string }[] };
    }[];
    expect(services.map((s) => s.metadata.name)).toContain(sts.spec.serviceName);
    for (const service of services) {
      expect(service.spec.selector).toEqual(sts.spec.selector.matchLabels);
      expect(service.spec.ports[0]!.targetPort).toBe('http');
    }
    const pdb = byKind('PodDisruptionBudget') as unknown as {
      spec: { selector: { matchLabels: Record<string, string> } };
    };
    expect(pdb.spec.selector.matchLabels).toEqual(sts.spec.selector.matchLabels);
    const monitor = byKind('ServiceMonitor') as unknown as {
      spec: { endpoints: { port: string; path: string }[] };
    };
    expect(monitor.spec.endpoints[0]).toMatchObject({ port: 'http', path: '/metrics', scheme: 'https' });
    const config = JSON.parse(
      (byKind('ConfigMap') as unknown as { data: Record<string, string> }).data['config.json']!,
    ) as unknown;
    expect(config).toMatchObject({ kafka: { groupId: 'imeiflow' } });
  });

  /** Variables naming a file imeiflow reads at start-up: certificates, keys, secrets. */
  const fileVariables = (env: Record<string, string>) =>
    Object.entries(env).filter(([name]) => name.endsWith('_FILE') || name.endsWith('_LOCATION'));
  /** No secret value in the environment: what names a password or key names its file. */
  const expectNoSecretValues = (env: Record<string, string>) => {
    for (const name of Object.keys(env)) {
      if (/PASSWORD|KEY|SECRET/.test(name)) expect(name, name).toMatch(/_FILE$/);
    }
  };
  /** The configuration imeiflow would build from this environment (and config file) is valid. */
  const configFrom = (env: Record<string, string>, configJson?: string) => {
    const file = join(configDir, 'config.json');
    writeFileSync(file, configJson ?? '{}');
    return loadConfig({ env: { ...env, IMEIFLOW_CONFIG: file } });
  };

  it('Kubernetes waits for a shutdown: the grace period outlasts the drain and the exit after it', () => {
    const sts = byKind('StatefulSet') as unknown as {
      spec: { template: { spec: { terminationGracePeriodSeconds: number; containers: Container[] } } };
    };
    type Container = { env: { name: string; value: string }[] };
    const { terminationGracePeriodSeconds, containers } = sts.spec.template.spec;
    const env = Object.fromEntries(containers[0]!.env.map((e) => [e.name, e.value]));
    const configMap = (byKind('ConfigMap') as unknown as { data: Record<string, string> }).data[
      'config.json'
    ];
    const timeoutMs = configFrom(env, configMap).shutdownTimeoutMs;
    expect(terminationGracePeriodSeconds * 1000).toBeGreaterThan(timeoutMs + 5000);
  });

  it('k8s mounts the TLS certificates, client CA, Kafka secrets and store key as read-only secret files', () => {
    const sts = byKind('StatefulSet') as unknown as {
      spec: {
        template: {
          spec: {
            containers: {
              env: { name: string; value: string }[];
              volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
            }[];
            volumes: {
              name: string;
              secret?: { secretName: string; items: { key: string; path: string }[] };
            }[];
          };
        };
      };
    };
    const pod = sts.spec.template.spec;
    const container = pod.containers[0]!;
    const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));
    expectNoSecretValues(env);
    const files = fileVariables(env);
    expect(files.map(([name]) => name).sort()).toEqual(
      [
        'IMEIFLOW_HTTP_TLS_CERT_FILE',
        'IMEIFLOW_HTTP_TLS_KEY_FILE',
        'IMEIFLOW_HTTP_TLS_CLIENT_CA_FILE',
        'IMEIFLOW_KAFKA_SSL_CA_LOCATION',
        'IMEIFLOW_KAFKA_SASL_PASSWORD_FILE',
        'IMEIFLOW_STORE_ENCRYPTION_KEY_FILE',
        'IMEIFLOW_CLUSTER_KEY_FILE',
      ].sort(),
    );
    for (const [name, path] of files) {
      const mount = container.volumeMounts.find((m) => m.mountPath === dirname(path));
      expect(mount, name).toBeDefined();
      expect(mount!.readOnly, name).toBe(true);
      const volume = pod.volumes.find((v) => v.name === mount!.name);
      expect(volume?.secret?.secretName, name).toMatch(/^imeiflow-/);
      expect(
        volume!.secret!.items.map((i) => i.path),
        name,
      ).toContain(basename(path));
    }
    const configMap = (byKind('ConfigMap') as unknown as { data: Record<string, string> }).data[
      'config.json'
    ]!;
    const config = configFrom(env, configMap);
    expect(config.kafka.security.protocol).toBe('sasl_ssl');
    expect(config.http.tls.clientCertificates.length).toBeGreaterThan(0);
    expect(config.store.encryptionKeyFile).toBe(env['IMEIFLOW_STORE_ENCRYPTION_KEY_FILE']);
    // On a real cluster the cluster key is required (src/security/cluster-key.ts).
    expect(config.security.clusterKeyFile).toBe(env['IMEIFLOW_CLUSTER_KEY_FILE']);
    // Retention stated in full, as the topics are created (create-topics.sh, tested above).
    const stated = (JSON.parse(configMap) as { retention: Record<string, number> }).retention;
    expect(Object.keys(stated).sort()).toEqual(Object.keys(config.retention).sort());
    expect(config.retention).toEqual(loadConfig({ env: {} }).retention);
  });

  it('compose mounts the same as /run/secrets files made by make-secrets.sh; brokers and Prometheus agree', () => {
    type Service = {
      environment?: Record<string, string>;
      secrets?: string[];
      volumes?: string[];
    };
    const compose = parse(readFileSync(deploy('compose/docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, Service>;
      secrets: Record<string, { file: string }>;
    };
    const script = readFileSync(deploy('compose/make-secrets.sh'), 'utf8');
    const secretFile = (secret: string) => {
      const file = compose.secrets[secret]?.file;
      expect(file, secret).toMatch(/^\.\/secrets\//);
      // make-secrets.sh writes it (the secrets themselves are never committed).
      expect(script, secret).toContain(basename(file!));
    };
    for (const name of ['imeiflow-1', 'imeiflow-2']) {
      const service = compose.services[name]!;
      const env = service.environment!;
      expectNoSecretValues(env);
      for (const [variable, path] of fileVariables(env)) {
        const secret = path.replace(/^\/run\/secrets\//, '');
        expect(path, variable).toBe(`/run/secrets/${secret}`);
        expect(service.secrets, variable).toContain(secret);
        secretFile(secret);
      }
      const config = configFrom(env);
      expect(config.http.tls.certFile).not.toBeNull();
      expect(config.store.encryptionKeyFile).not.toBeNull();
      expect(config.security.clusterKeyFile).not.toBeNull();
      expect(config.kafka.security.protocol).toBe('sasl_plaintext');
      // imeiflow's brokers are the brokers' SASL listeners.
      for (const broker of env['KAFKA_BROKERS']!.split(',')) {
        const [host] = broker.split(':');
        const advertised = compose.services[host!]!.environment!['KAFKA_ADVERTISED_LISTENERS']!;
        expect(advertised, broker).toContain(`SASL_PLAINTEXT://${broker}`);
      }
    }
    for (const broker of ['kafka-1', 'kafka-2', 'kafka-3']) {
      const service = compose.services[broker]!;
      const jaas = /java\.security\.auth\.login\.config=\/run\/secrets\/(\S+)/.exec(
        service.environment!['KAFKA_OPTS']!,
      )?.[1];
      expect(service.secrets, broker).toContain(jaas);
      secretFile(jaas!);
    }
    const prometheus = parse(readFileSync(deploy('prometheus/prometheus.yml'), 'utf8')) as {
      scrape_configs: { scheme: string; tls_config: { ca_file: string } }[];
    };
    const scrape = prometheus.scrape_configs[0]!;
    expect(scrape.scheme).toBe('https');
    const ca = scrape.tls_config.ca_file.replace(/^\/run\/secrets\//, '');
    expect(compose.services['prometheus']!.secrets).toContain(ca);
    secretFile(ca);
  });

  it('the image runs as a non-root user with a health check and a data volume', () => {
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toContain('/healthz');
    expect(dockerfile).toMatch(/^VOLUME \/var\/lib\/imeiflow$/m);
  });

  it('compose wires Kafka, the topic job, two instances, Prometheus and Grafana to files that exist', () => {
    const compose = parse(readFileSync(deploy('compose/docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<
        string,
        {
          environment?: Record<string, string>;
          volumes?: string[];
          build?: { context: string; dockerfile: string };
          image?: string;
        }
      >;
    };
    const services = Object.keys(compose.services);
    for (const name of [
      'kafka-1',
      'kafka-2',
      'kafka-3',
      'kafka-init',
      'imeiflow-1',
      'imeiflow-2',
      'prometheus',
      'grafana',
    ]) {
      expect(services, name).toContain(name);
    }
    const brokers = compose.services['imeiflow-1']!.environment!['KAFKA_BROKERS']!.split(',').map(
      (b) => b.split(':')[0]!,
    );
    for (const broker of brokers) expect(services).toContain(broker);
    const build = compose.services['imeiflow-1']!.build!;
    expect(existsSync(join(deploy('compose'), build.context, build.dockerfile))).toBe(true);
    for (const service of ['prometheus', 'grafana', 'kafka-init']) {
      for (const volume of compose.services[service]!.volumes ?? []) {
        const source = volume.split(':')[0]!;
        expect(existsSync(join(deploy('compose'), source)), `${service}: ${source}`).toBe(true);
      }
    }
    // The Prometheus config scrapes exactly the compose instances.
    const prometheus = parse(readFileSync(deploy('prometheus/prometheus.yml'), 'utf8')) as {
      scrape_configs: { static_configs: { targets: string[] }[] }[];
    };
    const targets = prometheus.scrape_configs[0]!.static_configs[0]!.targets.map((t) => t.split(':')[0]);
    expect(targets.sort()).toEqual(['imeiflow-1', 'imeiflow-2']);
  });

  it('the topic job gives every topic the retention imeiflow would (topic-settings.ts at the defaults)', () => {
    // Run the script itself, with kafka-topics.sh replaced by a stub that prints its arguments.
    const stub = join(configDir, 'kafka-topics.sh');
    writeFileSync(stub, '#!/bin/sh\ncase " $* " in *" --create "*) echo "$*" ;; esac\n', { mode: 0o755 });
    const run = spawnSync('bash', [deploy('compose/create-topics.sh')], {
      encoding: 'utf8',
      env: {
        ...process.env,
        KAFKA_TOPICS: stub,
        BOOTSTRAP: 'kafka:9092',
        PARTITIONS: '12',
        REPLICATION: '3',
      },
    });
    expect(run.status, run.stderr).toBe(0);
    const created = new Map<string, Record<string, string>>();
    for (const line of run.stdout.trim().split('\n')) {
      const args = line.split(' ');
      const topic = args[args.indexOf('--topic') + 1]!;
      const configs: Record<string, string> = {};
      args.forEach((arg, i) => {
        if (arg !== '--config') return;
        const [key, value] = args[i + 1]!.split('=') as [string, string];
        configs[key] = value;
      });
      created.set(topic, configs);
    }
    const config = loadConfig({ env: {} });
    const topics = configuredTopics(config);
    expect([...created.keys()].sort()).toEqual(topics.map(({ topic }) => topic).sort());
    for (const { role, topic } of topics) {
      expect(created.get(topic), topic).toEqual({
        'cleanup.policy': TOPIC_ROLES[role].cleanup,
        'min.insync.replicas': '2',
        ...topicSettings(role, config.retention),
      });
    }
  });

  it('the topic job creates every topic imeiflow uses, each with its cleanup policy and partitions', () => {
    const script = readFileSync(deploy('compose/create-topics.sh'), 'utf8');
    const created = new Map(
      [...script.matchAll(/^create (\S+) (\S+) (\S+)/gm)].map((m) => [
        m[1]!,
        { cleanup: m[2]!, partitions: m[3]! },
      ]),
    );
    const topics = configuredTopics(loadConfig({ env: {} }));
    expect([...created.keys()].sort()).toEqual(topics.map(({ topic }) => topic).sort());
    for (const { role, topic } of topics) {
      const { cleanup, partitions } = TOPIC_ROLES[role];
      expect(created.get(topic), topic).toEqual({
        cleanup,
        partitions: partitions === null ? '"$PARTITIONS"' : String(partitions),
      });
    }
  });
});
