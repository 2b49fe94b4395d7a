import { describe, expect, it } from 'vitest';
import { loadConfig, workerCount } from '../../src/config/config.js';
import { isImeiflowError } from '../../src/errors.js';

function problem(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig({ env });
  } catch (error) {
    expect(isImeiflowError(error, 'CONFIG_INVALID')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected the configuration to be refused');
}

describe('configuration', () => {
  it('defaults: embedded Kafka, ./data, port 8080, the four eligible procedures', () => {
    const config = loadConfig({ env: {} });
    expect(config.kafka.brokers).toBeNull();
    expect(config.dataDir).toBe('./data');
    expect(config.http.port).toBe(8080);
    expect(config.rules.eligibleProcedures).toEqual(['40', '53', '60', '94']);
    expect(config.topics.requests).toBe('imei.verify.requests');
    expect(Object.isFrozen(config.kafka)).toBe(true);
  });

  it('environment variables override', () => {
    const config = loadConfig({
      env: {
        KAFKA_BROKERS: 'k1:9092,k2:9092',
        IMEIFLOW_WORKERS: '3',
        IMEIFLOW_ELIGIBLE_PROCEDURES: '40, 53',
      },
    });
    expect(config.kafka.brokers).toBe('k1:9092,k2:9092');
    expect(workerCount(config)).toBe(3);
    expect(config.rules.eligibleProcedures).toEqual(['40', '53']);
  });

  it('network-derived IMEIs: strict by default, per operator or channel by setting', () => {
    expect(loadConfig({ env: {} }).rules.spareDigit).toEqual({ operators: [], channels: [] });
    const config = loadConfig({
      env: { IMEIFLOW_SPARE_DIGIT_OPERATORS: 'kcell, tele2', IMEIFLOW_SPARE_DIGIT_CHANNELS: 'individual' },
    });
    expect(config.rules.spareDigit).toEqual({ operators: ['kcell', 'tele2'], channels: ['individual'] });
    expect(problem({ IMEIFLOW_SPARE_DIGIT_CHANNELS: 'radio' })).toContain('IMEIFLOW_SPARE_DIGIT_CHANNELS');
  });

  it('retention: a default per kind of data, overridden by IMEIFLOW_RETENTION_*', () => {
    expect(loadConfig({ env: {} }).retention).toEqual({
      sweepIntervalMs: 3_600_000,
      requestsDays: 7,
      outcomesDays: 90,
      resultsDays: 30,
      dlqDays: 7,
      declarationsDays: 1095,
      auditDays: 365,
      compactionLagMs: 86_400_000,
    });
    const config = loadConfig({
      env: { IMEIFLOW_RETENTION_OUTCOMES_DAYS: '30', IMEIFLOW_RETENTION_AUDIT_DAYS: '730' },
    });
    expect(config.retention).toMatchObject({ outcomesDays: 30, auditDays: 730 });
    expect(problem({ IMEIFLOW_RETENTION_DLQ_DAYS: '0' })).toContain('IMEIFLOW_RETENTION_DLQ_DAYS');
    // A replayed request needs its outcome for as long as the requests topic keeps it.
    expect(
      problem({ IMEIFLOW_RETENTION_REQUESTS_DAYS: '14', IMEIFLOW_RETENTION_OUTCOMES_DAYS: '10' }),
    ).toMatch(/IMEIFLOW_RETENTION_OUTCOMES_DAYS: must be at least requestsDays/);
  });

  it('reports every bad variable at once, by name', () => {
    const message = problem({
      IMEIFLOW_HTTP_PORT: '99999',
      IMEIFLOW_WORKERS: 'many',
      IMEIFLOW_LOG_LEVEL: 'loud',
    });
    expect(message).toContain('IMEIFLOW_HTTP_PORT');
    expect(message).toContain('IMEIFLOW_WORKERS');
    expect(message).toContain('IMEIFLOW_LOG_LEVEL');
  });

  it('rejects a bad topic name and a bad procedure code', () => {
    expect(problem({ IMEIFLOW_TOPIC_RESULTS: 'bad topic!' })).toContain('IMEIFLOW_TOPIC_RESULTS');
    expect(problem({ IMEIFLOW_ELIGIBLE_PROCEDURES: '4' })).toContain('IMEIFLOW_ELIGIBLE_PROCEDURES');
  });

  it('config/example.json loads', () => {
    const config = loadConfig({ env: { IMEIFLOW_CONFIG: 'config/example.json' } });
    expect(config.kafka.brokers).toBe('kafka-1:9092,kafka-2:9092,kafka-3:9092');
    // Its empty 2027 block keeps the shipped dates.
    expect(config.pending.calendar.years['2027']?.daysOff['2027-01-04']).toContain('moved');
  });

  it('HTTPS: certificate, key and client CA from files; a half-configured TLS is refused by name', () => {
    const config = loadConfig({
      env: {
        IMEIFLOW_HTTP_TLS_CERT_FILE: '/run/secrets/http/tls.crt',
        IMEIFLOW_HTTP_TLS_KEY_FILE: '/run/secrets/http/tls.key',
        IMEIFLOW_HTTP_TLS_CLIENT_CA_FILE: '/run/secrets/http/client-ca.crt',
      },
    });
    expect(config.http.tls).toMatchObject({
      certFile: '/run/secrets/http/tls.crt',
      keyFile: '/run/secrets/http/tls.key',
      clientCaFile: '/run/secrets/http/client-ca.crt',
    });
    expect(loadConfig({ env: {} }).http.tls.certFile).toBeNull();
    expect(problem({ IMEIFLOW_HTTP_TLS_CERT_FILE: '/x.crt' })).toContain('HTTPS needs both');
    expect(problem({ IMEIFLOW_HTTP_TLS_CLIENT_CA_FILE: '/ca.crt' })).toContain(
      'IMEIFLOW_HTTP_TLS_CLIENT_CA_FILE',
    );
  });

  it('client certificates map a valid IIN to a name and a role, and need the client CA', () => {
    const refused = (clientCertificates: unknown[]) => {
      try {
        loadConfig({
          env: {},
          overrides: {
            http: { tls: { clientCertificates: clientCertificates as never } },
          },
        });
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(refused([{ iin: '880101300123', name: 'a.nurlanova', role: 'reviewer' }])).toContain(
      'needs clientCaFile',
    );
    const message = refused([{ iin: '880101300124', name: 'A B', role: 'boss' }]);
    expect(message).toContain('check digit');
    expect(message).toContain('http.tls.clientCertificates.0.role');
    expect(message).toContain('http.tls.clientCertificates.0.name');
  });

  it('names a config file that cannot be read', () => {
    expect(problem({ IMEIFLOW_CONFIG: '/nonexistent.json' })).toContain('/nonexistent.json');
  });
});
