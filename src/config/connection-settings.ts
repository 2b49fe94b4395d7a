/**
 * The settings of the connections (src/config/define.ts): the store's key, the Kafka cluster and
 * its security, the control plane's address and TLS. Part of src/config/settings.ts.
 */
import { z } from 'zod';
import { section, setting } from './define.js';
import {
  checkHttpTls,
  checkKafkaSecurity,
  clientCertificate,
  int,
  kafkaProperties,
  kafkaSecretFiles,
  optionalFile,
} from './validators.js';

export const store = section({
  encryptionKeyFile: setting({
    schema: optionalFile,
    default: null,
    env: 'IMEIFLOW_STORE_ENCRYPTION_KEY_FILE',
    doc:
      'A file holding the LMDB encryption key (32 printable ASCII characters); null: not encrypted. ' +
      'The service reads it and hands the key to the store and the workers.',
    readBy: ['store', 'CLI'],
  }),
});

const kafkaSecurity = section(
  {
    protocol: setting({
      schema: z.enum(['plaintext', 'ssl', 'sasl_plaintext', 'sasl_ssl']),
      default: 'plaintext',
      env: 'IMEIFLOW_KAFKA_SECURITY_PROTOCOL',
      doc: "librdkafka's `security.protocol` towards the brokers; the embedded cluster speaks plaintext only.",
      readBy: ['kafka clients'],
    }),
    settings: setting({
      schema: kafkaProperties,
      default: {},
      env: [
        {
          name: 'IMEIFLOW_KAFKA_SSL_CA_LOCATION',
          entry: 'ssl.ca.location',
          doc: 'CA of the brokers (or `probe`).',
        },
        {
          name: 'IMEIFLOW_KAFKA_SSL_CERTIFICATE_LOCATION',
          entry: 'ssl.certificate.location',
          doc: 'Client certificate (TLS client authentication).',
        },
        {
          name: 'IMEIFLOW_KAFKA_SSL_KEY_LOCATION',
          entry: 'ssl.key.location',
          doc: "That certificate's key.",
        },
        {
          name: 'IMEIFLOW_KAFKA_SASL_MECHANISM',
          entry: 'sasl.mechanisms',
          doc: 'SASL mechanism, e.g. `SCRAM-SHA-512`.',
        },
        { name: 'IMEIFLOW_KAFKA_SASL_USERNAME', entry: 'sasl.username', doc: 'SASL user.' },
      ],
      doc: 'librdkafka `ssl.*` and `sasl.*` properties, passed as they are; secrets are refused here.',
      readBy: ['kafka clients'],
      type: 'property → value',
    }),
    secretFiles: setting({
      schema: kafkaSecretFiles,
      default: {},
      env: [
        {
          name: 'IMEIFLOW_KAFKA_SSL_KEY_PASSWORD_FILE',
          entry: 'ssl.key.password',
          doc: 'File holding `ssl.key.password`.',
        },
        {
          name: 'IMEIFLOW_KAFKA_SASL_PASSWORD_FILE',
          entry: 'sasl.password',
          doc: 'File holding `sasl.password`.',
        },
      ],
      doc:
        'The file holding each secret librdkafka property (`sasl.password`, `ssl.key.password`, the OAUTHBEARER ' +
        'secrets); read at start-up, one trailing newline dropped, never logged.',
      readBy: ['kafka clients'],
      type: 'secret property → file',
    }),
  },
  checkKafkaSecurity,
);

export const kafka = section({
  brokers: setting({
    schema: z.string().min(1).nullable(),
    default: null,
    env: 'KAFKA_BROKERS',
    doc: 'Comma-separated bootstrap servers; null starts the embedded cluster.',
    readBy: ['kafka clients', 'CLI'],
  }),
  clientId: setting({
    schema: z.string().min(1),
    default: 'imeiflow',
    doc: "The Kafka clients' `client.id` (each kind of client adds a suffix).",
    readBy: ['kafka clients'],
  }),
  groupId: setting({
    schema: z.string().min(1),
    default: 'imeiflow',
    env: 'IMEIFLOW_KAFKA_GROUP',
    doc: "The request pipeline's consumer group; the other readers' groups are named after it.",
    readBy: ['request pipeline', 'global tables'],
  }),
  embeddedBrokers: setting({
    schema: int(1, 9),
    default: 3,
    doc: 'Brokers of the embedded cluster (when `brokers` is null).',
    readBy: ['service'],
  }),
  topicPartitions: setting({
    schema: int(1, 10_000),
    default: 12,
    doc: 'Partitions of the topics imeiflow creates on a real cluster (docs/topics.md says which topics have one).',
    readBy: ['topic creation'],
  }),
  replicationFactor: setting({
    schema: int(1, 10),
    default: 3,
    doc: 'Replication of the topics imeiflow creates on a real cluster.',
    readBy: ['topic creation'],
  }),
  security: kafkaSecurity,
});

/**
 * HTTPS for the control plane, and client certificates (mutual TLS) for people: a certificate
 * signed by `clientCaFile` whose subject carries `serialNumber=IIN…` (as Kazakh ЭЦП certificates
 * do) acts as the person and role configured for that IIN. Bearer tokens keep working.
 */
const httpTls = section(
  {
    certFile: setting({
      schema: optionalFile,
      default: null,
      env: 'IMEIFLOW_HTTP_TLS_CERT_FILE',
      doc: 'PEM certificate (chain) of the control plane: HTTPS; null: HTTP.',
      readBy: ['control plane'],
    }),
    keyFile: setting({
      schema: optionalFile,
      default: null,
      env: 'IMEIFLOW_HTTP_TLS_KEY_FILE',
      doc: 'PEM private key of that certificate.',
      readBy: ['control plane'],
    }),
    clientCaFile: setting({
      schema: optionalFile,
      default: null,
      env: 'IMEIFLOW_HTTP_TLS_CLIENT_CA_FILE',
      doc: 'CA certificates (PEM) that sign client certificates (mutual TLS); null: none are asked for.',
      readBy: ['control plane'],
    }),
    clientCertificates: setting({
      schema: z.array(clientCertificate),
      default: [],
      doc:
        'People with certificates: `[{ "iin": "880101300123", "name": "a.nurlanova", "role": "reviewer" }]` ' +
        '(the IIN is checked; each IIN once; needs `clientCaFile`); a holder of role `operator` names its ' +
        'operator: `"operator": "kcell"` (without it, it reads no personal data).',
      readBy: ['control plane'],
      type: 'list of { iin, name, role, operator? }',
    }),
  },
  checkHttpTls,
);

export const http = section({
  host: setting({
    schema: z.string().min(1),
    default: '0.0.0.0',
    env: 'IMEIFLOW_HTTP_HOST',
    doc: 'The address the control plane listens on.',
    readBy: ['control plane'],
  }),
  port: setting({
    schema: int(0, 65535),
    default: 8080,
    env: 'IMEIFLOW_HTTP_PORT',
    doc: 'The control plane port.',
    readBy: ['control plane'],
  }),
  tls: httpTls,
  maxUploadBytes: setting({
    schema: int(1024, 64 * 1024 ** 3),
    default: 1024 ** 3,
    env: 'IMEIFLOW_HTTP_MAX_UPLOAD_BYTES',
    doc: 'The largest upload the load routes take, counted as the body streams in (413 past it).',
    readBy: ['control plane'],
  }),
});
