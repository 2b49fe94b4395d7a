/**
 * The reviewers' page in headless Chromium (Debian's, driven by playwright-core): a reviewer
 * opens a request waiting for KGD, sees the device's KGD declarations and its times in Astana
 * time, looks up its owner with a basis, confirms it — with the explicit override a request KGD
 * may still answer needs — and the confirmation reaches bdik.confirmations with evidence
 * `manual`. The page speaks Russian, Kazakh or English (?lang=, else the browser's language) and
 * shows the time left per request. An answer that arrives late (the list of the stage shown
 * before, the evidence of the request opened before) never replaces a newer one. With
 * IMEIFLOW_UPDATE_SCREENSHOTS=1 the test also saves the screenshot docs/review-page.png.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Response } from 'playwright-core';
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
      // THIRD's application is registered by KGD, not yet decided: its request waits, with evidence.
      await seedStore(dataDir, {
        declarations: `application_id,procedure_code,imei,status,hs_code,decided_at\nKZ-PAGE-1,40,${THIRD},подана,8517130000,2026-11-20T04:00:00Z\n`,
      });
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
const SECOND = imei(APPLE, 556);
const THIRD = imei(APPLE, 557);
/** The time-left cell: days, hours or minutes in the page's language, not overdue. */
const TIME_LEFT = {
  en: /^(\d+ d \d+ h|\d+ h \d+ min|\d+ min)$/,
  ru: /^(\d+ д \d+ ч|\d+ ч \d+ мин|\d+ мин)$/,
  kk: /^(\d+ күн \d+ сағ|\d+ сағ \d+ мин|\d+ мин)$/,
};
/** How much later than asked the late answers come (the test's slow list and evidence). */
const LATE_MS = 1_500;
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
  it("shows a request's KGD declarations and its times in Astana time", async () => {
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${rig.service.port}/review`);
    await page.fill('#token', reviewerToken);
    await page.click('#save-token');
    await page.selectOption('#stage', 'all');
    const row = page.locator('tr[data-request-id="page-3"]');
    await row.waitFor({ timeout: 15_000 });
    expect(await page.textContent('thead')).toContain('due (Astana)');
    // The same instants the API gives in Astana time (seed 001 §30), to the minute.
    const api = (await (
      await fetch(`http://127.0.0.1:${rig.service.port}/v1/reviews?stage=all`, {
        headers: { authorization: `Bearer ${reviewerToken}` },
      })
    ).json()) as { items: { requestId: string; receivedAt: string; due: string }[] };
    const item = api.items.find((i) => i.requestId === 'page-3')!;
    expect(item.due).toMatch(/\+05:00$/);
    const cells = await row.locator('td').allTextContents();
    expect(cells).toContain(item.receivedAt.slice(0, 16).replace('T', ' '));
    expect(cells).toContain(item.due.slice(0, 16).replace('T', ' '));
    await row.getByRole('button', { name: 'Open' }).click();
    const declaration = page.locator('#declaration-rows tr', { hasText: 'KZ-PAGE-1' });
    await declaration.waitFor({ timeout: 15_000 });
    // KGD's «подана» is undecided (registered); decided 20 November 04:00 UTC, 09:00 in Astana.
    expect(await declaration.locator('td').allTextContents()).toEqual([
      'KZ-PAGE-1',
      '40',
      'not decided yet registered',
      '8517130000',
      '2026-11-20 09:00',
    ]);
    await expect
      .poll(() => page.textContent('#detail-due'))
      .toContain(item.due.slice(0, 16).replace('T', ' '));
    const shot = await page.screenshot({ fullPage: true });
    if (process.env['IMEIFLOW_UPDATE_SCREENSHOTS'] === '1') {
      mkdirSync(join(import.meta.dirname, '../../docs'), { recursive: true });
      writeFileSync(join(import.meta.dirname, '../../docs/review-page.png'), shot);
    }
    expect(shot.length).toBeGreaterThan(10_000);
    await context.close();
  });

  beforeAll(async () => {
    for (const [requestId, device] of [
      ['page-1', DEVICE],
      ['page-2', SECOND],
      ['page-3', THIRD],
    ] as const) {
      rig.producer.sendJson(topics.requests!, device, {
        requestId,
        imei: device,
        operator: 'beeline',
        channel: 'individual',
        ownerId: '880101300123',
        msisdn: '+77015550000',
      });
    }
    await rig.producer.flush();
    await rig.collector.waitFor(
      () =>
        ['page-1', 'page-2', 'page-3'].every((id) =>
          rig.collector.of(topics.results!).some((m) => m.key === id),
        ),
      30_000,
      'the pending results',
    );
  });

  it('speaks Kazakh and Russian: ?lang= first, else the browser language; time left in each', async () => {
    // An English-speaking browser that asks for Kazakh by the switch.
    const english = await browser.newContext({ locale: 'en-US' });
    const page = await english.newPage();
    await page.goto(`http://127.0.0.1:${rig.service.port}/review?lang=kk`);
    expect(await page.getAttribute('html', 'lang')).toBe('kk');
    expect(await page.textContent('h1')).toContain('қолмен тексеру кезегі');
    await page.fill('#token', reviewerToken);
    await page.click('#save-token');
    await page.selectOption('#stage', 'all');
    const row = page.locator('tr[data-request-id="page-2"]');
    await row.waitFor({ timeout: 15_000 });
    // The reason from the catalogue in Kazakh, with its code; the deadline one working day away.
    expect(await row.textContent()).toContain('МКК-ның шығару туралы шешімі күтілуде');
    expect(await row.textContent()).toContain('awaiting_kgd');
    expect((await row.locator('td.remaining').textContent())?.trim()).toMatch(TIME_LEFT.kk);
    expect(await row.locator('td.overdue').count()).toBe(0);
    expect(await page.evaluate('remainingText(-3720)')).toBe('мерзімнен 1 сағ 2 мин асты');
    expect(await row.getByRole('button', { name: 'Ашу' }).count()).toBe(1);
    await english.close();

    // A Russian-speaking browser without the switch; the token is per tab (sessionStorage).
    const russian = await browser.newContext({ locale: 'ru-RU' });
    const ru = await russian.newPage();
    await ru.goto(`http://127.0.0.1:${rig.service.port}/review`);
    expect(await ru.getAttribute('html', 'lang')).toBe('ru');
    expect(await ru.textContent('thead')).toContain('осталось до срока');
    await ru.fill('#token', reviewerToken);
    await ru.click('#save-token');
    await ru.selectOption('#stage', 'all');
    const ruRow = ru.locator('tr[data-request-id="page-2"]');
    await ruRow.waitFor({ timeout: 15_000 });
    expect(await ruRow.textContent()).toContain('Ожидается решение КГД о выпуске');
    expect((await ruRow.locator('td.remaining').textContent())?.trim()).toMatch(TIME_LEFT.ru);
    expect(await ru.evaluate('remainingText(-90000)')).toBe('просрочено на 1 д 1 ч');
    // Oldest first: page-1 and page-2 came in that order.
    const order = await ru
      .locator('#rows tr')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-request-id')));
    expect(order.indexOf('page-1')).toBeLessThan(order.indexOf('page-2'));
    await russian.close();
  });

  it('an answer that arrives late never replaces a newer one: the list and the evidence are the last asked for', async () => {
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    // The list saving the token asks for (stage review: none of these requests) and page-3's
    // evidence answer LATE_MS after they are asked for: after the list and evidence asked next.
    const reviewStage = (url: URL) =>
      url.pathname === '/v1/reviews' && url.searchParams.get('stage') === 'review';
    const pageThree = (url: URL) => url.pathname === '/v1/reviews/page-3';
    for (const matches of [reviewStage, pageThree])
      await page.route(matches, async (route) => {
        await new Promise((resolve) => setTimeout(resolve, LATE_MS));
        await route.continue();
      });
    /** Until the page has the late answer and has run what it does with it. */
    const arrived = async (answer: Promise<Response>) => {
      await (await answer).finished();
      await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 100)));
    };
    await page.goto(`http://127.0.0.1:${rig.service.port}/review`);
    await page.fill('#token', reviewerToken);
    const lateList = page.waitForResponse((response) => reviewStage(new URL(response.url())));
    await page.click('#save-token');
    await page.selectOption('#stage', 'all');
    await page.locator('tr[data-request-id="page-3"]').waitFor({ timeout: 15_000 });
    const shown = await page.textContent('#count');
    await arrived(lateList);
    expect(await page.locator('tr[data-request-id="page-3"]').count()).toBe(1);
    expect(await page.textContent('#count')).toBe(shown);

    const lateEvidence = page.waitForResponse((response) => pageThree(new URL(response.url())));
    await page.locator('tr[data-request-id="page-3"]').getByRole('button', { name: 'Open' }).click();
    await page.locator('tr[data-request-id="page-1"]').getByRole('button', { name: 'Open' }).click();
    await expect.poll(() => page.textContent('#declaration-rows')).toContain('KGD has sent no decision');
    await arrived(lateEvidence);
    expect(await page.textContent('#detail-title')).toContain('page-1');
    expect(await page.locator('#declaration-rows tr').allTextContents()).toEqual([
      'KGD has sent no decision for this IMEI',
    ]);
    await context.close();
  });

  it('confirms a waiting request, and БДИК gets the confirmation', async () => {
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${rig.service.port}/review`);
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    await page.fill('#token', reviewerToken);
    await page.click('#save-token');
    await page.selectOption('#stage', 'all');
    const row = page.locator('tr[data-request-id="page-1"]');
    await row.waitFor({ timeout: 15_000 });
    expect((await row.locator('td.remaining').textContent())?.trim()).toMatch(TIME_LEFT.en);
    await row.getByRole('button', { name: 'Open' }).click();
    // No KGD decision lists it; its owner masked until a basis is given.
    await expect.poll(() => page.textContent('#declaration-rows')).toContain('KGD has sent no decision');
    await expect.poll(() => page.textContent('#owner')).toContain('88••••••••23');
    await page.fill('#basis', 'ticket RV-2026-41');
    await page.click('#show-owner');
    await expect.poll(() => page.textContent('#owner')).toContain('880101300123');
    await page.fill('#reason', 'passport and purchase receipt checked');
    // KGD may still answer: a plain confirmation is refused, the override is explicit.
    expect(await page.isVisible('#override-line')).toBe(true);
    await page.click('#confirm');
    await expect.poll(() => page.textContent('#decision')).toContain('still waits for KGD');
    await page.check('#override');
    await page.click('#confirm');
    await expect.poll(() => page.textContent('#decision')).toContain('Confirmed');

    await context.close();
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
        'review.confirm-override:passport and purchase receipt checked',
      ]);
    } finally {
      await audit.close();
      await store.close();
    }
  });
});
