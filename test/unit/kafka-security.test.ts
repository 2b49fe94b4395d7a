/**
 * Kafka TLS and SASL settings: from configuration and environment to librdkafka's config objects,
 * secrets read from files. The embedded cluster cannot speak TLS or SASL, so no handshake is made
 * here: these tests show the settings reach librdkafka (it validates them when a client is made
 * and reads the CA when it connects) and that bad paths stop start-up with the file named.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Kafka from 'node-rdkafka';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { isImeiflowError } from '../../src/errors.js';
import {
  connect,
  consumerConfig,
  KafkaSecurity,
  type KafkaSettings,
  producerConfig,
  resolveKafkaSecurity,
} from '../../src/kafka/client.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir();
const passwordFile = join(dir, 'sasl-password');
writeFileSync(passwordFile, 's3cret-pa55\n');
const keyPasswordFile = join(dir, 'key-password');
writeFileSync(keyPasswordFile, 'k3y-pa55');
const caFile = join(dir, 'ca.pem');
writeFileSync(caFile, 'not really a certificate\n');

const REAL = { KAFKA_BROKERS: 'kafka-1:9093' };

function refusal(env: NodeJS.ProcessEnv, overrides?: Record<string, never>): string {
  try {
    loadConfig({ env, ...(overrides === undefined ? {} : { overrides }) });
  } catch (error) {
    expect(isImeiflowError(error, 'CONFIG_INVALID')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected the configuration to be refused');
}

function caught(work: () => unknown): Error {
  try {
    work();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

describe('kafka.security in the configuration', () => {
  it('environment variables set the protocol, the common ssl.* and sasl.* settings and the secret files', () => {
    const config = loadConfig({
      env: {
        ...REAL,
        IMEIFLOW_KAFKA_SECURITY_PROTOCOL: 'sasl_ssl',
        IMEIFLOW_KAFKA_SSL_CA_LOCATION: caFile,
        IMEIFLOW_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
        IMEIFLOW_KAFKA_SASL_USERNAME: 'imeiflow',
        IMEIFLOW_KAFKA_SASL_PASSWORD_FILE: passwordFile,
        IMEIFLOW_KAFKA_SSL_KEY_PASSWORD_FILE: keyPasswordFile,
      },
    });
    expect(config.kafka.security).toEqual({
      protocol: 'sasl_ssl',
      settings: {
        'ssl.ca.location': caFile,
        'sasl.mechanisms': 'SCRAM-SHA-512',
        'sasl.username': 'imeiflow',
      },
      secretFiles: { 'sasl.password': passwordFile, 'ssl.key.password': keyPasswordFile },
    });
    // The configuration holds where the secrets are, never the secrets.
    expect(JSON.stringify(config)).not.toContain('s3cret');
  });

  it('a secret given as a setting is refused, naming the file setting to use instead', () => {
    const message = refusal(REAL, {
      kafka: { security: { protocol: 'sasl_ssl', settings: { 'sasl.password': 'hunter2' } } },
    } as never);
    expect(message).toContain('kafka.security.settings.sasl.password');
    expect(message).toContain('secretFiles');
    expect(message).not.toContain('hunter2');
  });

  it('refuses settings of other kinds, settings the protocol does not use, and TLS on the embedded cluster', () => {
    expect(
      refusal(REAL, { kafka: { security: { settings: { 'bootstrap.servers': 'x' } } } } as never),
    ).toContain('ssl.* or sasl.*');
    expect(
      refusal({ ...REAL, IMEIFLOW_KAFKA_SECURITY_PROTOCOL: 'ssl', IMEIFLOW_KAFKA_SASL_USERNAME: 'u' }),
    ).toContain('sasl.username is set but security.protocol ssl does not use it');
    expect(refusal({ IMEIFLOW_KAFKA_SECURITY_PROTOCOL: 'ssl' })).toContain(
      'the embedded cluster speaks plaintext only',
    );
    expect(refusal({ ...REAL, IMEIFLOW_KAFKA_SECURITY_PROTOCOL: 'tls' })).toContain(
      'IMEIFLOW_KAFKA_SECURITY_PROTOCOL',
    );
  });
});

describe('resolveKafkaSecurity and the client config builders', () => {
  const security = () =>
    resolveKafkaSecurity({
      protocol: 'sasl_ssl',
      settings: {
        'ssl.ca.location': caFile,
        'sasl.mechanisms': 'SCRAM-SHA-512',
        'sasl.username': 'imeiflow',
      },
      secretFiles: { 'sasl.password': passwordFile, 'ssl.key.password': keyPasswordFile },
    });

  it('reads secrets from their files and the builders spread them into producer and consumer configs', () => {
    const settings: KafkaSettings = {
      bootstrapServers: 'kafka-1:9093',
      clientId: 'imeiflow',
      security: security(),
    };
    const expected = {
      'security.protocol': 'sasl_ssl',
      'ssl.ca.location': caFile,
      'sasl.mechanisms': 'SCRAM-SHA-512',
      'sasl.username': 'imeiflow',
      'sasl.password': 's3cret-pa55',
      'ssl.key.password': 'k3y-pa55',
    };
    expect(producerConfig(settings)).toMatchObject({ ...expected, 'enable.idempotence': true });
    expect(consumerConfig(settings, 'g')).toMatchObject({ ...expected, 'group.id': 'g' });
    // Without security nothing is added: the embedded cluster's clients stay as they were.
    const plain = producerConfig({ bootstrapServers: 'x', clientId: 'y' });
    expect(Object.keys(plain).filter((k) => /^(security|ssl|sasl)\./.test(k))).toEqual([]);
  });

  it('the secrets stay out of anything serialised', () => {
    const settings: KafkaSettings = {
      bootstrapServers: 'kafka-1:9093',
      clientId: 'imeiflow',
      security: security(),
    };
    expect(JSON.stringify(settings)).not.toContain('s3cret');
    expect(security()).toBeInstanceOf(KafkaSecurity);
  });

  it('a missing CA file or secret file stops start-up with the file named, never a secret', () => {
    const missingCa = caught(() =>
      resolveKafkaSecurity({
        protocol: 'ssl',
        settings: { 'ssl.ca.location': join(dir, 'no-such-ca.pem') },
        secretFiles: {},
      }),
    );
    expect(isImeiflowError(missingCa, 'CONFIG_INVALID')).toBe(true);
    expect(missingCa.message).toContain('ssl.ca.location');
    expect(missingCa.message).toContain(join(dir, 'no-such-ca.pem'));
    const missingSecret = caught(() =>
      resolveKafkaSecurity({
        protocol: 'sasl_ssl',
        settings: {},
        secretFiles: { 'sasl.password': join(dir, 'no-such-password') },
      }),
    );
    expect(missingSecret.message).toContain(join(dir, 'no-such-password'));
    expect(missingSecret.message).toContain('sasl.password');
    // "probe" asks librdkafka to find the system CA bundle: not a path to check.
    expect(() =>
      resolveKafkaSecurity({ protocol: 'ssl', settings: { 'ssl.ca.location': 'probe' }, secretFiles: {} }),
    ).not.toThrow();
  });

  it('librdkafka takes the settings: it validates them when a client is made and reads the CA on connect', async () => {
    const settings: KafkaSettings = {
      bootstrapServers: '127.0.0.1:1',
      clientId: 'imeiflow-test',
      security: security(),
    };
    // Made without complaint: librdkafka knows every property and accepts every value.
    expect(() => new Kafka.KafkaConsumer(consumerConfig(settings, 'g'), {})).not.toThrow();
    const bogus = { ...settings, security: new KafkaSecurity({ 'security.protocol': 'tls' }) };
    expect(() => new Kafka.Producer(producerConfig(bogus))).toThrow(/security\.protocol/);
    // A CA file that is not a certificate (it passed the readability check): librdkafka's own
    // TLS set-up rejects it when the client starts, before any broker is contacted.
    const producer = new Kafka.Producer(producerConfig(settings));
    const error = await connect(producer, 'producer').then(
      () => new Error('connected'),
      (e: unknown) => e as Error,
    );
    expect(isImeiflowError(error, 'KAFKA_CONNECT_FAILED')).toBe(true);
    expect(error.message).toContain('ssl.ca.location');
    expect(error.message).not.toContain('s3cret');
  });
});
