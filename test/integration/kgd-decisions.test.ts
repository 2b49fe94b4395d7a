/**
 * KGD's decisions as KGD means them (issue 19), through the real service (`imeiflow run`) on the
 * embedded cluster: the latest decision by `decidedAt` wins whatever the arrival order, on the
 * topic or from files loaded with the CLI; a revocation or a refusal after a release withdraws
 * what the release proved (kgd-release and eaeu-import), once; KGD's Russian and Kazakh spellings;
 * the HS scope of seed 000 appendix 1; one working day end to end in working hours; and a
 * reviewer's confirmation that KGD later refutes goes back to a reviewer.
 *
 * Every case waits for what it expects, then settles (SETTLE_MS) and counts exactly: a second
 * confirmation, a second revocation or a late outcome would show.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { TokenService } from '../../src/security/tokens.js';
import { openStore } from '../../src/store/store.js';
import { callService, clusterCli } from '../support/cluster-clients.js';
import { APPLE, imei, seedStore } from '../support/fixtures.js';
import { useRig } from '../support/rig.js';

interface Result {
  requestId: string;
  imei: string;
  outcome: string;
  reason: string | null;
  evidence?: string;
  detail: string;
  grounds?: string | null;
}
interface Confirmation {
  requestId: string;
  imei: string;
  evidence: string;
  applicationId: string | null;
  procedure: string | null;
}
interface Revocation {
  imei: string;
  requestId: string;
  applicationId: string;
  reason: string;
}
interface DlqEntry {
  topic: string;
  key: string | null;
  error: string;
}
interface ReviewItem {
  requestId: string;
  imei: string;
  stage: string;
  reason: string;
  due?: string;
  dueUtc?: string;
}
interface LoadReport {
  rowsRead: number;
  rowsLoaded: number;
  rowsRejected: number;
}

/** Long enough for a late second outcome, confirmation or revocation to arrive. */
const SETTLE_MS = 3000;
const WAIT_MS = 30_000;
const OWNER = '880101300123';
const D = (serial: number) => imei(APPLE, serial);

let reviewerToken = '';
const rig = useRig({
  name: 'kgd-decisions',
  stores: {
    data: async (dataDir) => {
      await seedStore(dataDir);
      const store = openStore({ dataDir });
      try {
        reviewerToken = await new TokenService(store, 60).create('a.nurlanova', 'reviewer');
      } finally {
        await store.close();
      }
    },
  },
  kafka: { collect: ['results', 'confirmations', 'revocations', 'dlq'] },
  // KGD's order is checked through the details a result names (applications, HS codes): the full
  // customs view, which an operator's results can be configured to take (issue 22).
  service: { store: 'data', env: { IMEIFLOW_RESULTS_CUSTOMS_VIEW: 'full' } },
});
const { topics } = rig;

const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));

function sendRequest(requestId: string, device: string, extra: Record<string, unknown> = {}): void {
  rig.producer.sendJson(topics.requests, device, {
    requestId,
    imei: device,
    operator: 'beeline',
    channel: 'import',
    ownerId: OWNER,
    ...extra,
  });
}

function sendDecision(decision: Record<string, unknown> & { applicationId: string }): void {
  rig.producer.sendJson(topics.decisions, decision.applicationId, decision);
}

const resultsOf = (requestId: string) =>
  rig.collector.json<Result>(topics.results).filter((r) => r.requestId === requestId);
const finalsOf = (requestId: string) =>
  resultsOf(requestId).filter((r) => r.outcome === 'confirmed' || r.outcome === 'rejected');
/** БДИК confirmations of a device, without the tombstones a revocation leaves. */
const confirmationsOf = (device: string) =>
  rig.collector
    .json<Confirmation | null>(topics.confirmations)
    .filter((c): c is Confirmation => c !== null && c.imei === device);
const revocationsOf = (device: string) =>
  rig.collector
    .json<Revocation | null>(topics.revocations)
    .filter((r): r is Revocation => r !== null && r.imei === device);
const dlqOfDecisions = (key: string) =>
  rig.collector.json<DlqEntry>(topics.dlq).filter((e) => e.topic === topics.decisions && e.key === key);

/** The first result of `requestId` with `outcome` (any outcome if none is given). */
async function waitForResult(requestId: string, outcome?: string): Promise<Result> {
  const match = (r: Result) => outcome === undefined || r.outcome === outcome;
  await rig.collector.waitFor(
    () => resultsOf(requestId).some(match),
    WAIT_MS,
    `a ${outcome ?? 'result'} for ${requestId} (so far: ${JSON.stringify(resultsOf(requestId))})`,
  );
  return resultsOf(requestId).find(match)!;
}

/** The final outcome of `requestId`, whichever it is. */
async function waitForFinal(requestId: string): Promise<Result> {
  await rig.collector.waitFor(
    () => finalsOf(requestId).length > 0,
    WAIT_MS,
    `a final outcome for ${requestId} (so far: ${JSON.stringify(resultsOf(requestId))})`,
  );
  return finalsOf(requestId)[0]!;
}

async function waitForRevocations(device: string, count: number): Promise<void> {
  await rig.collector.waitFor(
    () => revocationsOf(device).length >= count,
    WAIT_MS,
    `${count} revocation(s) of ${device}`,
  );
}

/** GET /v1/reviews as the reviewer. */
async function reviews(stage: 'review' | 'all' = 'review'): Promise<ReviewItem[]> {
  const { status, json } = await callService(rig.service, `/v1/reviews?stage=${stage}`, reviewerToken);
  expect(status, JSON.stringify(json)).toBe(200);
  return json['items'] as ReviewItem[];
}

async function waitForReview(
  requestId: string,
  stage: 'review' | 'all',
  holds: (item: ReviewItem) => boolean = () => true,
): Promise<ReviewItem> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const items = await reviews(stage);
    const item = items.find((i) => i.requestId === requestId && holds(i));
    if (item !== undefined) return item;
    if (Date.now() > deadline)
      throw new Error(
        `GET /v1/reviews?stage=${stage} did not list ${requestId} as expected: ${JSON.stringify(items.filter((i) => i.requestId === requestId))}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The declarations the index holds for a device, as a reviewer sees them (GET /v1/devices). */
async function declarationsOf(device: string): Promise<{ applicationId: string; status: string }[]> {
  const { status, json } = await callService(rig.service, `/v1/devices/${device}`, reviewerToken);
  expect(status, JSON.stringify(json)).toBe(200);
  return (json['declarations'] ?? []) as { applicationId: string; status: string }[];
}

async function waitForDeclaration(device: string, applicationId: string, status: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const declarations = await declarationsOf(device);
    if (declarations.some((d) => d.applicationId === applicationId && d.status === status)) return;
    if (Date.now() > deadline)
      throw new Error(
        `${device} has no ${status} declaration under ${applicationId}: ${JSON.stringify(declarations)}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** `imeiflow load-declarations FILE --json` on the cluster: its exit status and report. */
function loadWithCli(file: string): { status: number | null; report: LoadReport; stderr: string } {
  const run = clusterCli(rig, 'load-declarations', file, '--json');
  let report: LoadReport;
  try {
    report = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '') as LoadReport;
  } catch {
    throw new Error(`the CLI printed no JSON report (status ${run.status}):\n${run.stdout}\n${run.stderr}`);
  }
  return { status: run.status, report, stderr: run.stderr };
}

function csvFile(name: string, lines: readonly string[]): string {
  const path = join(rig.root, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

describe("KGD's order of its decisions", () => {
  it('decisions sent in reverse time order end in the latest one', async () => {
    const withApplication = { device: D(919_101), app: 'KZ-ORD-1', requestId: 'ord-1' };
    const withoutApplication = { device: D(919_102), app: 'KZ-ORD-2', requestId: 'ord-2' };
    for (const { device, app } of [withApplication, withoutApplication]) {
      sendDecision({
        applicationId: app,
        procedure: '40',
        status: 'revoked',
        hsCode: '8517130000',
        imeis: [device],
        decidedAt: '2026-11-20T09:00:00Z',
      });
      sendDecision({
        applicationId: app,
        procedure: '40',
        status: 'released',
        hsCode: '8517130000',
        imeis: [device],
        decidedAt: '2026-10-10T09:00:00Z',
      });
    }
    await rig.producer.flush();
    // Both decisions of an application are on one partition, in order: once the first shows,
    // the second is at most a batch behind.
    for (const { device, app } of [withApplication, withoutApplication])
      await waitForDeclaration(device, app, 'revoked');
    await settle();
    for (const { device, app } of [withApplication, withoutApplication])
      expect(await declarationsOf(device), device).toEqual([
        expect.objectContaining({ applicationId: app, status: 'revoked' }),
      ]);

    sendRequest(withApplication.requestId, withApplication.device, {
      applicationId: withApplication.app,
    });
    sendRequest(withoutApplication.requestId, withoutApplication.device);
    await rig.producer.flush();
    for (const { requestId, device, app } of [withApplication, withoutApplication]) {
      const final = await waitForFinal(requestId);
      expect(final, final.detail).toMatchObject({
        outcome: 'rejected',
        reason: 'declaration_refused',
        detail: `KGD revoked the release decision of application ${app}`,
      });
      expect(confirmationsOf(device)).toEqual([]);
    }
    await settle();
    for (const { requestId, device } of [withApplication, withoutApplication]) {
      expect(finalsOf(requestId).map((r) => `${r.outcome}/${r.reason}`)).toEqual([
        'rejected/declaration_refused',
      ]);
      expect(confirmationsOf(device)).toEqual([]);
      expect(revocationsOf(device)).toEqual([]);
    }
  });

  it("October's file reloaded after November's revocation leaves the device revoked", async () => {
    const device = D(919_201);
    const app = 'KZ-OCT-2';
    const october = csvFile('october.csv', [
      'application_id,procedure_code,imei,status,decided_at',
      `${app},40,${device},released,2026-10-10T09:00:00Z`,
    ]);
    const first = loadWithCli(october);
    expect(first.status, first.stderr).toBe(0);
    expect(first.report).toMatchObject({ rowsRead: 1, rowsLoaded: 1, rowsRejected: 0 });
    await waitForDeclaration(device, app, 'released');

    sendRequest('oct-1', device, { applicationId: app, msisdn: '+77011234567' });
    await rig.producer.flush();
    expect(await waitForFinal('oct-1')).toMatchObject({ outcome: 'confirmed', evidence: 'kgd-release' });
    await settle();
    expect(confirmationsOf(device).map((c) => c.requestId)).toEqual(['oct-1']);

    sendDecision({
      applicationId: app,
      procedure: '40',
      status: 'revoked',
      imeis: [device],
      decidedAt: '2026-11-20T09:00:00Z',
    });
    await rig.producer.flush();
    await waitForRevocations(device, 1);
    await settle();
    expect(revocationsOf(device)).toEqual([
      expect.objectContaining({
        requestId: 'oct-1',
        applicationId: app,
        reason: `KGD revoked the release decision of application ${app}`,
      }),
    ]);

    // An admin loads October's export again.
    const again = loadWithCli(october);
    expect(again.status, again.stderr).toBe(0);
    expect(again.report).toMatchObject({ rowsRead: 1, rowsLoaded: 1, rowsRejected: 0 });
    await settle();
    expect(await declarationsOf(device)).toEqual([
      expect.objectContaining({ applicationId: app, status: 'revoked' }),
    ]);

    sendRequest('oct-2', device, { applicationId: app, msisdn: '+77011234567' });
    await rig.producer.flush();
    const final = await waitForFinal('oct-2');
    expect(final, final.detail).toMatchObject({ outcome: 'rejected', reason: 'declaration_refused' });
    await settle();
    expect(finalsOf('oct-2')).toHaveLength(1);
    expect(confirmationsOf(device).map((c) => c.requestId)).toEqual(['oct-1']);
    expect(revocationsOf(device)).toHaveLength(1);
  });
});

describe('a withdrawal withdraws what the release proved, once', () => {
  it('an EAEU registration is revoked exactly once when its application is revoked', async () => {
    const device = D(919_301);
    const app = 'ZV-EAEU-3';
    sendDecision({
      applicationId: app,
      procedure: 'ЕАЭС',
      status: 'released',
      hsCode: '8517130000',
      imeis: [device],
      decidedAt: '2026-11-02T09:00:00Z',
    });
    await rig.producer.flush();
    await waitForDeclaration(device, app, 'released');
    sendRequest('eaeu-3', device, { applicationId: app });
    await rig.producer.flush();
    const confirmed = await waitForFinal('eaeu-3');
    expect(confirmed, confirmed.detail).toMatchObject({ outcome: 'confirmed', evidence: 'eaeu-import' });
    expect(confirmationsOf(device)).toEqual([
      expect.objectContaining({
        requestId: 'eaeu-3',
        evidence: 'eaeu-import',
        applicationId: app,
        procedure: null,
      }),
    ]);

    // The whole application revoked: no IMEI named.
    const revocation = {
      applicationId: app,
      procedure: 'ЕАЭС',
      status: 'revoked',
      imeis: [],
      decidedAt: '2026-11-25T09:00:00Z',
    };
    sendDecision(revocation);
    await rig.producer.flush();
    await waitForRevocations(device, 1);
    await settle();
    const [only, ...more] = revocationsOf(device);
    expect(more).toEqual([]);
    expect(only).toMatchObject({ requestId: 'eaeu-3', applicationId: app });
    expect(only!.reason).toContain(app);

    // KGD sends the same revocation again.
    sendDecision(revocation);
    await rig.producer.flush();
    await settle();
    expect(revocationsOf(device)).toHaveLength(1);
    expect(confirmationsOf(device)).toHaveLength(1);
  });

  it('a refusal after a release withdraws the registration, with its grounds', async () => {
    const device = D(919_401);
    const app = 'KZ-REF-4';
    const grounds = 'не представлен сертификат соответствия';
    sendDecision({
      applicationId: app,
      procedure: '40',
      status: 'released',
      hsCode: '8517130000',
      imeis: [device],
      decidedAt: '2026-11-02T09:00:00Z',
    });
    await rig.producer.flush();
    await waitForDeclaration(device, app, 'released');
    sendRequest('ref-4', device, { applicationId: app });
    await rig.producer.flush();
    expect(await waitForFinal('ref-4')).toMatchObject({ outcome: 'confirmed', evidence: 'kgd-release' });
    expect(confirmationsOf(device).map((c) => c.requestId)).toEqual(['ref-4']);

    sendDecision({
      applicationId: app,
      procedure: '40',
      status: 'refused',
      hsCode: '8517130000',
      imeis: [device],
      decidedAt: '2026-11-09T09:00:00Z',
      grounds,
    });
    await rig.producer.flush();
    await waitForRevocations(device, 1);
    await settle();
    const all = revocationsOf(device);
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ requestId: 'ref-4', applicationId: app });
    expect(all[0]!.reason).toContain(grounds);
    expect(confirmationsOf(device)).toHaveLength(1);
  });
});

describe("KGD's vocabulary", () => {
  const HEADER = 'ID заявки,Код таможенной процедуры,IMEI,Статус,Дата решения';
  const PROCEDURE = 'ішкі тұтыну үшін шығару';
  /** Status as KGD writes it → how a request for the device it lists ends. */
  const SPELLINGS: [string, string][] = [
    ['тауарларды шығаруға рұқсат берілді', 'confirmed/kgd-release'],
    ['Выпуск разрешён', 'confirmed/kgd-release'],
    ['тауарларды шығарудан бас тарту', 'rejected/declaration_refused'],
    ['тіркелді', 'pending/awaiting_kgd'],
  ];

  /** Requests for each device without an application; each ends as its row's status says. */
  async function expectDecidedAsListed(prefix: string, devices: readonly string[]): Promise<void> {
    devices.forEach((device, i) => {
      sendRequest(`${prefix}-${i}`, device);
    });
    await rig.producer.flush();
    for (const [i, [status, expected]] of SPELLINGS.entries()) {
      const requestId = `${prefix}-${i}`;
      const result = expected.startsWith('pending')
        ? await waitForResult(requestId)
        : await waitForFinal(requestId);
      const got =
        result.outcome === 'confirmed'
          ? `confirmed/${result.evidence}`
          : `${result.outcome}/${result.reason}`;
      expect(got, `${status}: ${result.detail}`).toBe(expected);
    }
    await settle();
    for (const [i, [status, expected]] of SPELLINGS.entries()) {
      const requestId = `${prefix}-${i}`;
      const all = resultsOf(requestId).map((r) =>
        r.outcome === 'confirmed' ? `confirmed/${r.evidence}` : `${r.outcome}/${r.reason}`,
      );
      expect(all, status).toEqual([expected]);
    }
  }

  it('a Kazakh-status KGD file, CSV and XLSX, loads with no rejected rows and decides as KGD said', async () => {
    const csvDevices = SPELLINGS.map((_, i) => D(919_501 + i));
    const csv = csvFile('kgd-kk.csv', [
      HEADER,
      ...SPELLINGS.map(
        ([status], i) => `KZ-KK-${i},${PROCEDURE},${csvDevices[i]},${status},2026-11-02T09:00:00Z`,
      ),
    ]);
    const loaded = loadWithCli(csv);
    expect(loaded.status, `${JSON.stringify(loaded.report)}\n${loaded.stderr}`).toBe(0);
    expect(loaded.report).toMatchObject({ rowsRead: 4, rowsLoaded: 4, rowsRejected: 0 });
    await waitForDeclaration(csvDevices[3]!, 'KZ-KK-3', 'registered');
    await expectDecidedAsListed('kk-csv', csvDevices);

    const xlsxDevices = SPELLINGS.map((_, i) => D(919_511 + i));
    const book = new ExcelJS.Workbook();
    const sheet = book.addWorksheet('Выгрузка');
    sheet.addRow(HEADER.split(','));
    SPELLINGS.forEach(([status], i) => {
      sheet.addRow([`KZ-KX-${i}`, PROCEDURE, xlsxDevices[i], status, '2026-11-02T09:00:00Z']);
    });
    const xlsx = join(rig.root, 'kgd-kk.xlsx');
    await book.xlsx.writeFile(xlsx);
    const fromXlsx = loadWithCli(xlsx);
    expect(fromXlsx.status, `${JSON.stringify(fromXlsx.report)}\n${fromXlsx.stderr}`).toBe(0);
    expect(fromXlsx.report).toMatchObject({ rowsRead: 4, rowsLoaded: 4, rowsRejected: 0 });
    await waitForDeclaration(xlsxDevices[3]!, 'KZ-KX-3', 'registered');
    await expectDecidedAsListed('kk-xlsx', xlsxDevices);
  });

  it('the topic applies a Kazakh status and sends an unknown one to the DLQ with its value', async () => {
    const device = D(919_521);
    const unknownDevice = D(919_522);
    sendDecision({
      applicationId: 'KZ-KK-TOPIC',
      procedure: '40',
      status: 'шығаруға рұқсат берілді',
      imeis: [device],
      decidedAt: '2026-11-02T09:00:00Z',
    });
    sendDecision({
      applicationId: 'KZ-HALF-TOPIC',
      procedure: '40',
      status: 'полу-выпущено',
      imeis: [unknownDevice],
      decidedAt: '2026-11-02T09:00:00Z',
    });
    await rig.producer.flush();
    await rig.collector.waitFor(
      () => dlqOfDecisions('KZ-HALF-TOPIC').length > 0,
      WAIT_MS,
      'the DLQ entry of the unknown status',
    );
    await waitForDeclaration(device, 'KZ-KK-TOPIC', 'released');
    sendRequest('kk-topic', device);
    sendRequest('half-topic', unknownDevice);
    await rig.producer.flush();
    expect(await waitForFinal('kk-topic')).toMatchObject({ outcome: 'confirmed', evidence: 'kgd-release' });
    expect(await waitForResult('half-topic')).toMatchObject({ outcome: 'pending', reason: 'awaiting_kgd' });
    await settle();
    expect(dlqOfDecisions('KZ-KK-TOPIC')).toEqual([]);
    const dlq = dlqOfDecisions('KZ-HALF-TOPIC');
    expect(dlq).toHaveLength(1);
    expect(dlq[0]!.error).toContain('полу-выпущено');
    expect(finalsOf('half-topic')).toEqual([]);
    expect(await declarationsOf(unknownDevice)).toEqual([]);
  });
});

describe('one working day, end to end, in working hours', () => {
  it('a request received at 18:30 on the Friday before a holiday is due at 18:30 on the next working day', async () => {
    // Friday 8 May 2026, 18:30 Astana; Victory Day (Saturday 9 May) moved its day off to Monday
    // 11 May: 30 working minutes on Friday, the other 570 on Tuesday 12 May from 09:00.
    const device = D(919_601);
    rig.producer.send(
      topics.requests,
      device,
      JSON.stringify({
        requestId: 'due-6',
        imei: device,
        operator: 'beeline',
        channel: 'import',
        ownerId: OWNER,
      }),
      undefined,
      null,
      Date.parse('2026-05-08T18:30:00+05:00'),
    );
    await rig.producer.flush();
    expect(await waitForResult('due-6')).toMatchObject({ outcome: 'pending', reason: 'awaiting_kgd' });
    const item = await waitForReview('due-6', 'all');
    expect(item, JSON.stringify(item)).toMatchObject({ imei: device, due: '2026-05-12T18:30:00+05:00' });
    expect(Date.parse(item.dueUtc ?? ''), JSON.stringify(item)).toBe(Date.parse('2026-05-12T13:30:00Z'));
  });
});

describe('the HS scope of seed 000 appendix 1', () => {
  it('a release under an HS code outside the scope proves nothing, and its IMEIs are not stored', async () => {
    const device = D(919_701);
    const app = 'KZ-MODEM-7';
    sendDecision({
      applicationId: app,
      procedure: '40',
      status: 'released',
      hsCode: '8517620000',
      imeis: [device],
      decidedAt: '2026-11-02T09:00:00Z',
    });
    await rig.producer.flush();
    await settle();
    sendRequest('hs-7a', device, { applicationId: app });
    await rig.producer.flush();
    const final = await waitForFinal('hs-7a');
    expect(final, final.detail).toMatchObject({ outcome: 'rejected', reason: 'hs_out_of_scope' });
    expect(final.detail).toContain('8517620000');

    sendRequest('hs-7b', device);
    await rig.producer.flush();
    expect(await waitForResult('hs-7b')).toMatchObject({ outcome: 'pending', reason: 'awaiting_kgd' });
    await settle();
    expect(finalsOf('hs-7a')).toHaveLength(1);
    expect(finalsOf('hs-7b')).toEqual([]);
    expect(confirmationsOf(device)).toEqual([]);
    expect(await declarationsOf(device)).toEqual([]);
  });
});

describe("a reviewer's confirmation that KGD later refutes", () => {
  it('goes back to a reviewer, and is withdrawn only when the reviewer rejects it', async () => {
    const device = D(919_801);
    const app = 'KZ-REFUTE-8';
    sendRequest('manual-8', device, { msisdn: '+77015550008' });
    await rig.producer.flush();
    expect(await waitForResult('manual-8')).toMatchObject({ outcome: 'pending', reason: 'awaiting_kgd' });
    await waitForReview('manual-8', 'all');

    const confirm = await callService(rig.service, '/v1/reviews/manual-8', reviewerToken, {
      method: 'POST',
      type: 'application/json',
      body: JSON.stringify({ decision: 'confirm', reason: 'papers seen', override: true }),
    });
    expect(confirm.status, JSON.stringify(confirm.json)).toBe(202);
    const confirmed = await waitForFinal('manual-8');
    expect(confirmed, confirmed.detail).toMatchObject({ outcome: 'confirmed', evidence: 'manual' });
    await settle();
    expect(confirmationsOf(device)).toEqual([
      expect.objectContaining({ requestId: 'manual-8', evidence: 'manual' }),
    ]);

    sendDecision({
      applicationId: app,
      procedure: '40',
      status: 'refused',
      hsCode: '8517130000',
      imeis: [device],
      decidedAt: '2026-11-20T09:00:00Z',
      grounds: 'товар не соответствует декларации',
    });
    await rig.producer.flush();
    const flagged = await waitForReview('manual-8', 'review', (i) => i.reason === 'kgd_refuted');
    expect(flagged).toMatchObject({ imei: device, stage: 'review', reason: 'kgd_refuted' });
    await settle();
    // Neither kept silently nor withdrawn: no revocation, no new result.
    expect(revocationsOf(device)).toEqual([]);
    expect(finalsOf('manual-8')).toHaveLength(1);

    const reject = await callService(rig.service, '/v1/reviews/manual-8', reviewerToken, {
      method: 'POST',
      type: 'application/json',
      body: JSON.stringify({ decision: 'reject', reason: 'KGD refused' }),
    });
    expect(reject.status, JSON.stringify(reject.json)).toBe(202);
    await waitForRevocations(device, 1);
    await settle();
    const all = revocationsOf(device);
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ requestId: 'manual-8' });
    expect(all[0]!.reason).toContain('KGD refused');
    expect(confirmationsOf(device)).toHaveLength(1);
    expect((await reviews('all')).filter((i) => i.requestId === 'manual-8')).toEqual([]);
  });
});
