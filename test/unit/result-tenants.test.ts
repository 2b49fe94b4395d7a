/**
 * Operators are tenants (issue 22, point 1): a worker marks each result with its operator's
 * tenant code, the main thread publishes it on that operator's topic, anything else on the shared
 * topic (counted), and results carry only the reduced customs view by default.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { workerConfigOf } from '../../src/config/worker-settings.js';
import { luhnDigit } from '../../src/domain/imei.js';
import { resultTopicsOf } from '../../src/kafka/result-topics.js';
import { RecordCollector } from '../../src/pipeline/record-collector.js';
import { decodeResult } from '../../src/pool/batch-contract.js';
import { BatchOutputs } from '../../src/pool/outputs-section.js';
import { type BatchContext, batchContextOf, runBatch } from '../../src/pool/partition-batch.js';
import { collidingOperators, SHARED_TENANT, tenantCode } from '../../src/pool/result-tenants.js';
import { applyApplicationDecision } from '../../src/store/declarations.js';
import { bumpTacVersion, openStore, type Store } from '../../src/store/store.js';
import { readResult, requestInput, taskFor, workerSettingsWith } from '../support/batches.js';
import { tacRecord } from '../support/fixtures.js';
import { tempDir } from '../support/tmp.js';
import { TEST_TOPICS } from '../support/topics.js';

const withLuhn = (body: string) => body + String(luhnDigit(body));
const RELEASED = '35209900176148';
const REFUSED = '35209900176150';
const OWNER = '880101300123';
const req = (requestId: string, operator: unknown, imei = withLuhn(RELEASED)) => ({
  requestId,
  imei,
  operator,
  channel: 'import',
  ownerId: OWNER,
});

let store: Store;
beforeAll(async () => {
  store = openStore({ dataDir: join(tempDir(), 'tenants') });
  await store.env.transaction(() => {
    store.tac.put('35209900', tacRecord('35209900'));
    bumpTacVersion(store);
    applyApplicationDecision(store, {
      entry: { applicationId: 'KZ-7', procedure: '40', status: 'released', hsCode: null, decidedAt: null },
      bodies: [RELEASED],
    });
    applyApplicationDecision(store, {
      entry: {
        applicationId: 'KZ-8',
        procedure: '40',
        status: 'refused',
        hsCode: null,
        decidedAt: '2026-11-01T09:00:00.000Z',
        grounds: 'the invoice names another consignee',
      },
      bodies: [REFUSED],
    });
  });
});
afterAll(() => store.close());

/** A batch decided with the configuration `env` sets, and where its main thread sends each result. */
async function decided(env: Record<string, string>, inputs: ReturnType<typeof requestInput>[]) {
  const config = loadConfig({ env });
  const ctx: BatchContext = batchContextOf(
    store,
    workerSettingsWith('unused', {
      rules: { eligibleProcedures: ['40'] },
      results: workerConfigOf(config).results,
    }),
  );
  const buffer = await runBatch(ctx, taskFor(inputs));
  let unrouted = 0;
  const collector = new RecordCollector(
    {
      enqueue: () => Promise.reject(new Error('not published here')),
      send: () => Promise.reject(new Error('not published here')),
    },
    [],
    resultTopicsOf({ ...config, topics: { ...config.topics, results: TEST_TOPICS.results } }, (n) => {
      unrouted += n;
    }),
  );
  const outputs = new BatchOutputs(decodeResult(buffer).outputs);
  const topics = new Map<string, string>();
  for (let i = 0; i < outputs.outputCount; i++) {
    if (outputs.role(i) !== 0) continue;
    const { requestId } = JSON.parse(outputs.value(i)!.toString('utf8')) as { requestId: string };
    topics.set(requestId, collector.destination(outputs, i));
  }
  collector.messages(1, outputs);
  return { result: readResult(buffer), topics, unrouted };
}

describe('operators as tenants', () => {
  it("each operator's results go to its own topic; any other operator's to the shared one, counted", async () => {
    const { topics, unrouted } = await decided({}, [
      requestInput(0, req('t-1', 'kcell')),
      requestInput(1, req('t-2', 'beeline')),
      requestInput(2, req('t-3', 'Kcell')),
      requestInput(3, req('t-4', 'kcell', 'not an imei')),
      // Invalid, and its operator not text: nobody to route it to.
      requestInput(4, req('t-5', 42)),
      // Invalid, but it names its operator: its answer is still that operator's.
      requestInput(5, { ...req('t-6', 'beeline'), channel: 'smuggled' }),
    ]);
    expect(Object.fromEntries(topics)).toEqual({
      't-1': 'imei.verify.results.kcell',
      't-2': 'imei.verify.results.beeline',
      't-3': 'results',
      't-4': 'imei.verify.results.kcell',
      't-5': 'results',
      't-6': 'imei.verify.results.beeline',
    });
    expect(unrouted).toBe(2);
  });

  it('with results.perOperator false, every result is on the shared topic and none is counted', async () => {
    const { topics, unrouted, result } = await decided({ IMEIFLOW_RESULTS_PER_OPERATOR: 'false' }, [
      requestInput(0, req('s-1', 'kcell')),
      requestInput(1, req('s-2', 'tele2')),
    ]);
    expect([...topics.values()]).toEqual(['results', 'results']);
    expect(result.outputs.filter((o) => o.role === 'results').map((o) => o.tenant)).toEqual([
      SHARED_TENANT,
      SHARED_TENANT,
    ]);
    expect(unrouted).toBe(0);
  });

  it('the pattern names the topics', async () => {
    const env = {
      IMEIFLOW_RESULTS_TOPIC_PATTERN: 'results-for-{operator}',
      IMEIFLOW_RESULTS_OPERATORS: 'izi',
    };
    const { topics } = await decided(env, [
      requestInput(0, req('p-1', 'izi')),
      requestInput(1, req('p-2', 'kcell')),
    ]);
    expect(Object.fromEntries(topics)).toEqual({ 'p-1': 'results-for-izi', 'p-2': 'results' });
  });

  it("results carry the reduced customs view by default: no application, procedure or KGD's grounds", async () => {
    const reduced = await decided({}, [
      requestInput(0, req('v-1', 'kcell')),
      requestInput(1, req('v-2', 'kcell', withLuhn(REFUSED))),
    ]);
    const json = (r: typeof reduced) =>
      r.result.outputs.filter((o) => o.role === 'results').map((o) => o.json!);
    const [confirmed, refused] = json(reduced);
    expect(confirmed).toMatchObject({ outcome: 'confirmed', evidence: 'kgd-release' });
    expect(refused).toMatchObject({ outcome: 'rejected', reason: 'declaration_refused' });
    for (const result of [confirmed, refused]) {
      expect(JSON.stringify(result)).not.toMatch(/KZ-7|KZ-8|procedure 40|invoice/);
      expect(result).not.toHaveProperty('grounds');
    }
    // The full view, configured, carries them.
    const full = await decided({ IMEIFLOW_RESULTS_CUSTOMS_VIEW: 'full' }, [
      requestInput(0, req('v-3', 'kcell')),
      requestInput(1, req('v-4', 'kcell', withLuhn(REFUSED))),
    ]);
    const [fullConfirmed, fullRefused] = json(full);
    expect(fullConfirmed!['detail']).toContain('KZ-7');
    expect(fullRefused).toMatchObject({ grounds: 'the invoice names another consignee' });
  });

  it('codes are stable, never the shared one; two configured operators with one code are refused', () => {
    expect(tenantCode('kcell')).toBe(tenantCode('kcell'));
    expect(tenantCode('kcell')).not.toBe(tenantCode('beeline'));
    expect(tenantCode('')).not.toBe(SHARED_TENANT);
    // Find two names with one 32-bit code (the birthday bound: about 2^16 tries).
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; pair === undefined; i++) {
      const name = `op-${i}`;
      const other = seen.get(tenantCode(name));
      if (other !== undefined) pair = [other, name];
      seen.set(tenantCode(name), name);
    }
    expect(collidingOperators(['kcell', ...pair])).toEqual(pair);
    expect(collidingOperators(['kcell', 'beeline', 'kcell'])).toBeUndefined();
    expect(() => loadConfig({ env: { IMEIFLOW_RESULTS_OPERATORS: pair.join(',') } })).toThrow(
      /same tenant code/,
    );
    expect(() => loadConfig({ env: { IMEIFLOW_RESULTS_OPERATORS: 'kcell,bee line' } })).toThrow(
      /names a topic/,
    );
    expect(() => loadConfig({ env: { IMEIFLOW_RESULTS_TOPIC_PATTERN: 'results' } })).toThrow(/\{operator\}/);
  });
});
