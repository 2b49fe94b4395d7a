/**
 * The reviewers' page in headless Chromium (Debian's, driven by playwright-core): a reviewer
 * opens a request waiting for KGD, looks up its owner with a basis, confirms it, and the
 * confirmation reaches bdik.confirmations with evidence `manual`.
 */
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/security/audit-log.js';
import { TokenService } from '../../src/security/tokens.js';
import { openStore } from '../../src/store/store.js';
import { APPLE, imei, seedStore } from '../helpers/fixtures.js';
import {
  type BrokerProcess,
  type ServiceProcess,
  startBroker,
  startService,
  TestProducer,
  TopicCollector,
  uniqueTopics,
} from '../helpers/kafka.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../support/tools.js';

let broker: BrokerProcess;
let service: ServiceProcess;
let producer: TestProducer;
let collector: TopicCollector;
let browser: Browser;
let reviewerToken: string;
const { env, topics } = uniqueTopics(`page-${Date.now()}`);
const dataDir = join(tempDir(), 'data');
const DEVICE = imei(APPLE, 555);

beforeAll(async () => {
  requireTools('chromium');
  broker = await startBroker();
  await seedStore(dataDir);
  const store = openStore({ dataDir });
  reviewerToken = await new TokenService(store, 60).create('a.nurlanova', 'reviewer');
  await store.close();
  collector = await TopicCollector.start(broker.bootstrap, [topics.results!, topics.confirmations!]);
  producer = await TestProducer.connect(broker.bootstrap);
  service = await startService({ bootstrap: broker.bootstrap, dataDir, env });
  await service.waitReady();
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await service?.kill('SIGTERM');
  await producer?.close();
  await collector?.stop();
  await broker?.stop();
});

describe('the review page', () => {
  it('confirms a waiting request, and БДИК gets the confirmation', async () => {
    producer.sendJson(topics.requests!, DEVICE, {
      requestId: 'page-1',
      imei: DEVICE,
      operator: 'beeline',
      channel: 'individual',
      ownerId: '880101300123',
      msisdn: '+77015550000',
    });
    await producer.flush();
    await collector.waitFor(
      () => collector.of(topics.results!).some((m) => m.key === 'page-1'),
      30_000,
      'the pending result',
    );

    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${service.port}/review`);
    await page.fill('#token', reviewerToken);
    await page.click('#save-token');
    await page.selectOption('#stage', 'all');
    const row = page.locator('tr[data-request-id="page-1"]');
    await row.waitFor({ timeout: 15_000 });
    await row.getByRole('button', { name: 'Open' }).click();
    await page.fill('#basis', 'ticket RV-2026-41');
    await page.click('#show-owner');
    await expect.poll(() => page.textContent('#owner')).toContain('880101300123');
    await page.fill('#reason', 'passport and purchase receipt checked');
    await page.click('#confirm');
    await expect.poll(() => page.textContent('#decision')).toContain('Confirmed');

    await collector.waitFor(() => collector.of(topics.confirmations!).length > 0, 30_000, 'the confirmation');
    const confirmation = JSON.parse(collector.of(topics.confirmations!)[0]!.value!) as Record<string, string>;
    expect(confirmation).toMatchObject({
      requestId: 'page-1',
      imei: DEVICE,
      evidence: 'manual',
      ownerId: '880101300123',
    });

    // The owner lookup and the decision are in the audit trail, with the reviewer's name.
    const store = openStore({ dataDir, readOnly: true });
    const audit = new AuditLog(store, join(dataDir, 'audit-reader'));
    try {
      const actions = audit.query({ limit: 100, actor: 'a.nurlanova' }).map((e) => `${e.action}:${e.basis}`);
      expect(actions).toEqual([
        'review.read-personal:ticket RV-2026-41',
        'review.confirm:passport and purchase receipt checked',
      ]);
    } finally {
      await audit.close();
      await store.close();
    }
  });
});
