/**
 * The reviewers' page in headless Chromium (Debian's, driven by playwright-core): a reviewer
 * opens a request waiting for KGD, looks up its owner with a basis, confirms it, and the
 * confirmation reaches bdik.confirmations with evidence `manual`.
 */
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/security/audit-log.js';
import { TokenService } from '../../src/security/tokens.js';
import { openStore } from '../../src/store/store.js';
import { APPLE, imei, seedStore } from '../support/fixtures.js';
import { useRig } from '../support/rig.js';

let browser: Browser;
let reviewerToken: string;
const rig = useRig({
  name: 'page',
  tools: ['chromium'],
  stores: {
    data: async (dataDir) => {
      await seedStore(dataDir);
      const store = openStore({ dataDir });
      reviewerToken = await new TokenService(store, 60).create('a.nurlanova', 'reviewer');
      await store.close();
    },
  },
  kafka: { collect: ['results', 'confirmations'] },
  service: { store: 'data' },
});
const { topics } = rig;
const dataDir = rig.dataDir('data');
const DEVICE = imei(APPLE, 555);
rig.onTeardown(() => browser?.close());

// After the rig's set-up: the browser opens the page of the service it started.
beforeAll(async () => {
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

describe('the review page', () => {
  it('confirms a waiting request, and БДИК gets the confirmation', async () => {
    rig.producer.sendJson(topics.requests!, DEVICE, {
      requestId: 'page-1',
      imei: DEVICE,
      operator: 'beeline',
      channel: 'individual',
      ownerId: '880101300123',
      msisdn: '+77015550000',
    });
    await rig.producer.flush();
    await rig.collector.waitFor(
      () => rig.collector.of(topics.results!).some((m) => m.key === 'page-1'),
      30_000,
      'the pending result',
    );

    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${rig.service.port}/review`);
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

    await rig.collector.waitFor(
      () => rig.collector.of(topics.confirmations!).length > 0,
      30_000,
      'the confirmation',
    );
    const confirmation = JSON.parse(rig.collector.of(topics.confirmations!)[0]!.value!) as Record<
      string,
      string
    >;
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
