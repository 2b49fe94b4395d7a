/**
 * Internal topics carry proof (issue 22, point 5): the events of the tokens and audit topics are
 * signed with the cluster key (HMAC-SHA-256) and every reader refuses one that is not.
 *
 * - The key file: one key a line, the first signs, every one verifies; its errors never show a
 *   key; on the embedded cluster the service makes `<data dir>/cluster.key` (0600) once; with
 *   KAFKA_BROKERS set the file is required.
 * - The signature: a header over the topic's role, the message key and the value; any change to
 *   them, another key, or none is refused — but an unsigned event below the configured cut-over
 *   (written before signing began) is accepted. Rotation: an event signed with an older key listed
 *   still verifies; new events are signed with the first.
 * - Through the tables: a forged admin token `create` is not applied, a forged purge order is
 *   neither stored nor carried out (by the audit table or ahead of it, `primePurges`), each passed
 *   as `refused` (counted apart from unreadable records: imeiflow_internal_records_refused_total),
 *   and the validator's DLQ reason says why. What the publishers write verifies.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { purgeAuditOf, purgeTargetOf } from '../../src/domain/retention.js';
import { isImeiflowError } from '../../src/errors.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { applyMessages, type IndexChanges } from '../../src/pipeline/global-tables.js';
import type { LogMessage, OutgoingMessage, OutputSink } from '../../src/pipeline/kafka-port.js';
import type { TableDecoders } from '../../src/pipeline/table-decoders.js';
import { type AuditFollower, auditTable, tokensTable } from '../../src/pipeline/tables.js';
import { primePurges } from '../../src/retention/purge-orders.js';
import { AuditLog, auditEntryOf, kafkaAuditPublisher } from '../../src/security/audit-log.js';
import { clusterKeysOf, EMBEDDED_KEY_FILE, parseClusterKeys } from '../../src/security/cluster-key.js';
import {
  clusterVerifier,
  EventSigner,
  SIGNATURE_HEADER,
  type SignedRole,
} from '../../src/security/signed-events.js';
import { kafkaTokenPublisher, tokenEventKey } from '../../src/security/token-events.js';
import { newToken, TokenService } from '../../src/security/tokens.js';
import { Pseudonyms } from '../../src/store/pseudonyms.js';
import { PurgeMarkIndex } from '../../src/store/purge-marks.js';
import type { AuditEntry } from '../../src/store/records.js';
import { openStore, type Store } from '../../src/store/store.js';
import { signedHeaders, TEST_KEYS, TEST_SECRETS, testDecoders, testSigner } from '../support/cluster-key.js';
import { tempDir } from '../support/tmp.js';

const root = tempDir();
const OLD_KEY = 'old-key-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const NEW_KEY = 'new-key-BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB';
const NO_CUT_OVER = { tokens: 0, audit: 0 };

function message(
  role: SignedRole,
  key: string | null,
  value: unknown,
  options: { signer?: EventSigner; offset?: number; headers?: LogMessage['headers'] } = {},
): LogMessage {
  const bytes = Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
  const headers =
    options.headers ??
    (options.signer === undefined
      ? []
      : [{ [SIGNATURE_HEADER]: options.signer.signatureOf(role, key, bytes) }]);
  return {
    topic: `imeiflow.${role}`,
    partition: 0,
    offset: options.offset ?? 7,
    key: key === null ? null : Buffer.from(key),
    value: bytes,
    headers,
    timestamp: Date.now(),
  };
}

/** An admin `create` as an attacker would write it: a token they hold, role admin. */
function forgedAdmin(): { token: string; key: string; event: ReturnType<typeof newToken>['event'] } {
  const { token, event } = newToken('mallory', 'admin');
  return { token, key: tokenEventKey(event), event };
}

function purgeEntry(iin = '880101300123'): AuditEntry {
  const parsed = purgeTargetOf('iin', iin, (owner) => new Pseudonyms(TEST_SECRETS.pseudonym).all(owner));
  if (!parsed.ok) throw new Error(parsed.error);
  const { action, target } = purgeAuditOf(parsed.target);
  return auditEntryOf({ actor: 'cli:root', role: 'admin', action, basis: 'court order 2/118', target });
}

describe('the cluster key file', () => {
  it('lists keys one a line: the first signs, every one verifies, each with an id derived from it', () => {
    const keys = parseClusterKeys(`# rotation: new first\n\n${NEW_KEY}\n  ${OLD_KEY}  \n`, 'k');
    expect(keys.signing.secret.toString()).toBe(NEW_KEY);
    expect([...keys.verifying.keys()]).toHaveLength(2);
    expect(keys.signing.id).toMatch(/^[0-9a-f]{8}$/);
    // The same key has the same id wherever it is read.
    expect(parseClusterKeys(OLD_KEY, 'other').signing.id).toBe([...keys.verifying.keys()][1]);
  });

  it('refuses a short key, a key listed twice and an empty file, never showing a key', () => {
    const refusal = (text: string) => {
      try {
        parseClusterKeys(text, '/etc/imeiflow/cluster.key');
      } catch (error) {
        expect(isImeiflowError(error, 'CONFIG_INVALID')).toBe(true);
        return (error as Error).message;
      }
      throw new Error('not refused');
    };
    const short = refusal(`${NEW_KEY}\nshort-secret-value\n`);
    expect(short).toContain('line 2 of /etc/imeiflow/cluster.key');
    expect(short).toContain('IMEIFLOW_CLUSTER_KEY_FILE');
    expect(short).not.toContain('short-secret-value');
    const twice = refusal(`${NEW_KEY}\n${NEW_KEY}\n`);
    expect(twice).toMatch(/twice/);
    expect(twice).not.toContain(NEW_KEY);
    expect(refusal('# nothing\n')).toMatch(/holds no key/);
  });

  it('on the embedded cluster the service makes <data dir>/cluster.key once (0600), and the CLI reads the same', () => {
    const dataDir = join(root, 'embedded');
    const config = { dataDir, kafka: { brokers: null }, security: { clusterKeyFile: null } };
    const first = clusterKeysOf(config, { create: true });
    const file = join(dataDir, EMBEDDED_KEY_FILE);
    expect(first.file).toBe(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, 'utf8');
    // A restart keeps it; the CLI (which never makes one) reads it.
    expect(clusterKeysOf(config, { create: true }).signing.id).toBe(first.signing.id);
    expect(readFileSync(file, 'utf8')).toBe(text);
    expect(clusterKeysOf(config, { create: false }).signing.id).toBe(first.signing.id);
    // Another data directory, another cluster: another key.
    const other = clusterKeysOf({ ...config, dataDir: join(root, 'embedded-2') }, { create: true });
    expect(other.signing.id).not.toBe(first.signing.id);
  });

  it('with KAFKA_BROKERS set the file is required; a configured one is read', () => {
    const config = {
      dataDir: join(root, 'real'),
      kafka: { brokers: 'k:9092' },
      security: { clusterKeyFile: null },
    };
    expect(() => clusterKeysOf(config, { create: true })).toThrow(
      /IMEIFLOW_CLUSTER_KEY_FILE\) is required with KAFKA_BROKERS set/,
    );
    const file = join(root, 'configured.key');
    writeFileSync(file, `${NEW_KEY}\n`);
    const keys = clusterKeysOf({ ...config, security: { clusterKeyFile: file } }, { create: true });
    expect(keys.signing.secret.toString()).toBe(NEW_KEY);
  });

  it('is a setting, as is the cut-over for events written before signing began', () => {
    const config = loadConfig({
      env: {
        IMEIFLOW_CLUSTER_KEY_FILE: '/run/secrets/cluster_key',
        IMEIFLOW_UNSIGNED_TOKENS_BEFORE: '120',
        IMEIFLOW_UNSIGNED_AUDIT_BEFORE: '4500',
      },
    });
    expect(config.security.clusterKeyFile).toBe('/run/secrets/cluster_key');
    expect(config.security.unsignedBefore).toEqual({ tokens: 120, audit: 4500 });
    expect(loadConfig({ env: {} }).security.unsignedBefore).toEqual({ tokens: 0, audit: 0 });
  });
});

describe('a signature', () => {
  const verifier = clusterVerifier(TEST_KEYS, NO_CUT_OVER);
  const { key, event } = forgedAdmin();

  it('verifies what was signed, naming the key', () => {
    const verdict = verifier.verify('tokens', message('tokens', key, event, { signer: testSigner }));
    expect(verdict).toEqual({ ok: true, keyId: TEST_KEYS.signing.id });
  });

  it('refuses an event without one, and one whose value, key or topic changed, or that another key signed', () => {
    expect(verifier.verify('tokens', message('tokens', key, event))).toMatchObject({
      ok: false,
      problem: 'unsigned',
    });
    const signed = message('tokens', key, event, { signer: testSigner });
    const altered = {
      ...signed,
      value: Buffer.from(JSON.stringify({ ...event, role: 'admin', name: 'eve' })),
    };
    const rekeyed = { ...signed, key: Buffer.from('create/eve') };
    const other = new EventSigner(parseClusterKeys(NEW_KEY, 'other'));
    const cases: [string, LogMessage, SignedRole][] = [
      ['altered value', altered, 'tokens'],
      ['another key', rekeyed, 'tokens'],
      ['another topic', signed, 'audit'],
      ['another cluster', message('tokens', key, event, { signer: other }), 'tokens'],
      [
        'garbled',
        message('tokens', key, event, { headers: [{ [SIGNATURE_HEADER]: 'v1.zz.abc' }] }),
        'tokens',
      ],
      [
        'two signatures',
        { ...signed, headers: [...(signed.headers ?? []), ...(signed.headers ?? [])] } as LogMessage,
        'tokens',
      ],
    ];
    for (const [what, m, role] of cases) {
      expect(verifier.verify(role, m), what).toMatchObject({ ok: false, problem: 'bad-signature' });
    }
  });

  it('an unsigned event below the cut-over was written before signing began: accepted; at it, refused', () => {
    const cutOver = clusterVerifier(TEST_KEYS, { tokens: 100, audit: 0 });
    expect(cutOver.verify('tokens', message('tokens', key, event, { offset: 99 }))).toEqual({
      ok: true,
      keyId: null,
    });
    expect(cutOver.verify('tokens', message('tokens', key, event, { offset: 100 }))).toMatchObject({
      ok: false,
      problem: 'unsigned',
    });
    expect(cutOver.verify('audit', message('audit', 'x', purgeEntry(), { offset: 3 }))).toMatchObject({
      ok: false,
      problem: 'unsigned',
    });
    // A wrong signature below it is no old event: refused.
    const forged = message('tokens', key, event, {
      offset: 5,
      signer: new EventSigner(parseClusterKeys(NEW_KEY, 'x')),
    });
    expect(cutOver.verify('tokens', forged)).toMatchObject({ ok: false, problem: 'bad-signature' });
  });

  it('key rotation: with the new key listed first, new events are signed with it and the old key still verifies', () => {
    const before = parseClusterKeys(`${OLD_KEY}\n`, 'k');
    const during = parseClusterKeys(`${OLD_KEY}\n${NEW_KEY}\n`, 'k');
    const after = parseClusterKeys(`${NEW_KEY}\n${OLD_KEY}\n`, 'k');
    const oldEvent = message('tokens', key, event, { signer: new EventSigner(before) });
    const newEvent = message('tokens', key, event, { signer: new EventSigner(after) });
    const [, oldId] = /^v1\.([0-9a-f]{8})\./.exec(String(oldEvent.headers?.[0]?.[SIGNATURE_HEADER])) ?? [];
    const [, newId] = /^v1\.([0-9a-f]{8})\./.exec(String(newEvent.headers?.[0]?.[SIGNATURE_HEADER])) ?? [];
    expect(oldId).toBe(before.signing.id);
    expect(newId).toBe(after.signing.id);
    expect(newId).not.toBe(oldId);
    for (const keys of [during, after])
      for (const m of [oldEvent, newEvent])
        expect(clusterVerifier(keys, NO_CUT_OVER).verify('tokens', m).ok).toBe(true);
    // An instance not yet given the new key refuses what it signed: add a key everywhere before signing with it.
    expect(clusterVerifier(before, NO_CUT_OVER).verify('tokens', newEvent)).toMatchObject({
      ok: false,
      problem: 'bad-signature',
      error: expect.stringContaining(`signed with key ${after.signing.id}, which k does not list`),
    });
  });
});

describe('through the tables', () => {
  let store: Store;
  let audit: AuditLog;
  let decoders: TableDecoders;
  const changes = (): IndexChanges => ({ bodies: new Set(), applications: new Set() });

  beforeAll(() => {
    decoders = testDecoders();
    const dataDir = join(root, 'tables');
    mkdirSync(dataDir, { recursive: true });
    store = openStore({ dataDir });
    audit = new AuditLog(store, dataDir);
  });
  afterAll(async () => {
    await audit.close();
    await store.close();
  });

  it('a forged admin token is not applied: refused as unsigned or wrongly signed, not as unreadable', async () => {
    const forged = forgedAdmin();
    const wrong = new EventSigner(parseClusterKeys(NEW_KEY, 'x'));
    const table = tokensTable(decoders.tokens);
    let skipped: ReturnType<typeof applyMessages> = [];
    await store.env.transaction(() => {
      skipped = applyMessages(
        table,
        store,
        [
          message('tokens', forged.key, forged.event),
          message('tokens', forged.key, forged.event, { signer: wrong }),
          message('tokens', 'x', 'not json'),
        ],
        changes(),
      );
    });
    expect(skipped.map((s) => s.refused)).toEqual(['unsigned', 'bad-signature', undefined]);
    store.env.resetReadTxn();
    expect(store.tokens.get('mallory')).toBeUndefined();
    const tokens = new TokenService(store, 60);
    expect(tokens.authenticate(`Bearer ${forged.token}`)).toEqual({ ok: false, problem: 'unknown' });
    // The record validator sends each to the DLQ, saying why.
    expect(decoders.problem('tokens', message('tokens', forged.key, forged.event))).toMatch(
      /^refused: no imeiflow-signature header/,
    );
    expect(
      decoders.problem('tokens', message('tokens', forged.key, forged.event, { signer: testSigner })),
    ).toBe(undefined);

    // Signed with the cluster key, the same event is applied.
    await store.env.transaction(() => {
      skipped = applyMessages(
        table,
        store,
        [message('tokens', forged.key, forged.event, { signer: testSigner })],
        changes(),
      );
    });
    expect(skipped).toEqual([]);
    expect(tokens.authenticate(`Bearer ${forged.token}`)).toMatchObject({ ok: true, role: 'admin' });
  });

  it('a forged purge order is neither stored nor carried out; a signed one is', async () => {
    const carriedOut: AuditEntry[] = [];
    const follower: AuditFollower = {
      apply: (_store, entries) => void carriedOut.push(...entries),
      afterCommit: () => undefined,
    };
    const table = auditTable(audit, decoders.audit, follower);
    const entry = purgeEntry();
    let skipped: ReturnType<typeof applyMessages> = [];
    await store.env.transaction(() => {
      skipped = applyMessages(table, store, [message('audit', entry.actor, entry)], changes());
    });
    expect(skipped.map((s) => s.refused)).toEqual(['unsigned']);
    expect(carriedOut).toEqual([]);
    store.env.resetReadTxn();
    expect([...store.audit.getRange()]).toHaveLength(0);

    await store.env.transaction(() => {
      skipped = applyMessages(
        table,
        store,
        [message('audit', entry.actor, entry, { signer: testSigner })],
        changes(),
      );
    });
    expect(skipped).toEqual([]);
    expect(carriedOut).toEqual([entry]);
  });

  it('an instance that was away records only the signed purges it missed (primePurges)', async () => {
    const dataDir = join(root, 'prime');
    mkdirSync(dataDir, { recursive: true });
    const away = openStore({ dataDir });
    try {
      const forged = purgeEntry('880101300123');
      const signed = purgeEntry('990340005977');
      const batch = [
        message('audit', forged.actor, forged, { offset: 0 }),
        message('audit', signed.actor, signed, { offset: 1, signer: testSigner }),
      ];
      const marks = PurgeMarkIndex.load(away);
      const recorded = await primePurges({
        store: away,
        reader: {
          readToEnd: async (_topic, _partition, _from, onBatch) => {
            await onBatch(batch);
            return 2;
          },
        },
        topic: 'imeiflow.audit',
        decode: decoders.audit,
        retention: loadConfig({ env: {} }).retention,
        marks,
        destroyed: () => undefined,
      });
      expect(recorded).toBe(1);
    } finally {
      await away.close();
    }
  });
});

describe('the publishers', () => {
  function capturing(): { sink: OutputSink; sent: OutgoingMessage[] } {
    const sent: OutgoingMessage[] = [];
    const sink: OutputSink = {
      send: async (messages) => {
        sent.push(...messages);
        return new Map();
      },
      enqueue: async (messages) => {
        sent.push(...messages);
        return { delivered: Promise.resolve(new Map()) };
      },
    };
    return { sink, sent };
  }
  const asRead = (m: OutgoingMessage): LogMessage => ({
    topic: m.topic,
    partition: m.partition ?? 0,
    offset: 0,
    key: typeof m.key === 'string' ? Buffer.from(m.key) : m.key,
    value: m.value,
    headers: m.headers ?? [],
    timestamp: 0,
  });

  it('sign every token event and audit entry so the tables apply them', async () => {
    const { sink, sent } = capturing();
    const { event } = newToken('ops.admin', 'admin');
    await kafkaTokenPublisher(sink, 'imeiflow.tokens', testSigner)(event);
    await kafkaAuditPublisher(sink, 'imeiflow.audit', testSigner)(purgeEntry());
    const decoders = testDecoders();
    expect(decoders.tokens(asRead(sent[0]!))).toMatchObject({ ok: true, value: event });
    expect(decoders.audit(asRead(sent[1]!))).toMatchObject({ ok: true });
    // The value is the event as before: the archive and older readers see the same JSON.
    expect(JSON.parse(sent[0]!.value!.toString())).toEqual(event);
    expect(signedHeaders('tokens', tokenEventKey(event), sent[0]!.value)).toEqual(sent[0]!.headers);
  });
});

describe('the metric', () => {
  it('counts refused events by topic and reason, apart from unreadable records', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    metrics.recordRefused('imeiflow.tokens', 'unsigned');
    metrics.recordRefused('imeiflow.tokens', 'unsigned');
    metrics.recordRefused('imeiflow.audit', 'bad-signature');
    const text = await metrics.registry.metrics();
    expect(text).toContain(
      'imeiflow_internal_records_refused_total{topic="imeiflow.tokens",reason="unsigned"} 2',
    );
    expect(text).toContain(
      'imeiflow_internal_records_refused_total{topic="imeiflow.audit",reason="bad-signature"} 1',
    );
  });
});
