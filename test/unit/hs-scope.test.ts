/**
 * The exchange's scope (seed 000 appendix 1; issue 19, point 5): three HS codes. A declaration
 * under another code proves nothing (`hs_out_of_scope`), and its IMEIs are not stored — from a file
 * (the load report counts them) or from the topic. Without an HS code a declaration is taken as in
 * scope: KGD's export need not carry one (seed 000 appendix 2).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { ruleSettingsOf } from '../../src/domain/rule-settings.js';
import { evaluate } from '../../src/domain/rules.js';
import type { VerifyRequest } from '../../src/domain/types.js';
import { loadDeclarations } from '../../src/loaders/declarations-loader.js';
import { createLogger } from '../../src/log.js';
import { applyMessages } from '../../src/pipeline/global-tables.js';
import { declarationsTable } from '../../src/pipeline/tables.js';
import { openStore } from '../../src/store/store.js';
import { MapIndexView } from '../support/map-view.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir();
const { rules } = loadConfig({ env: {} });
const settings = ruleSettingsOf(rules);
const MODEM_HS = '8517620000';
const BODY = '35209900176148';
const request = (extra: Partial<VerifyRequest> = {}): VerifyRequest => ({
  requestId: 'op-1',
  imei: '352099001761481',
  operator: 'beeline',
  channel: 'import',
  ...extra,
});
const view = () => new MapIndexView().addTac('35209900');

describe('the rules', () => {
  it('the default scope is the three codes of appendix 1', () => {
    expect([...rules.hsCodesInScope].sort()).toEqual(['8471300000', '8517130000', '8517140000']);
  });

  it('a release under an HS code outside the scope proves nothing: hs_out_of_scope, with or without the application named', () => {
    const v = view().declare(BODY, { applicationId: 'KZ-M', hsCode: MODEM_HS });
    for (const r of [request({ applicationId: 'KZ-M' }), request()])
      expect(evaluate(r, v, settings)).toMatchObject({
        outcome: 'rejected',
        reason: 'hs_out_of_scope',
        detail: expect.stringContaining(MODEM_HS),
      });
  });

  it('the application record alone answers for IMEIs not stored', () => {
    const v = view();
    v.apps.set('KZ-M', {
      applicationId: 'KZ-M',
      procedure: '40',
      status: 'released',
      imeiCount: 0,
      hsCode: MODEM_HS,
      decidedAt: null,
    });
    expect(evaluate(request({ applicationId: 'KZ-M' }), v, settings)).toMatchObject({
      reason: 'hs_out_of_scope',
    });
  });

  it('in scope, or without an HS code, it confirms as before', () => {
    for (const hsCode of ['8517130000', '8471300000', null]) {
      const v = view().declare(BODY, { applicationId: 'KZ-1', hsCode });
      expect(evaluate(request(), v, settings)).toMatchObject({
        outcome: 'confirmed',
        evidence: 'kgd-release',
      });
    }
  });

  it('another release in scope still proves the entry', () => {
    const v = view()
      .declare(BODY, { applicationId: 'KZ-M', hsCode: MODEM_HS })
      .declare(BODY, { applicationId: 'KZ-1', hsCode: '8517130000' });
    expect(evaluate(request(), v, settings)).toMatchObject({ outcome: 'confirmed', applicationId: 'KZ-1' });
  });
});

describe('what is stored', () => {
  it('a file: rows outside the scope are counted apart and their IMEIs not stored; the application is', async () => {
    const file = join(dir, 'scope.csv');
    writeFileSync(
      file,
      [
        'ID заявки,Код таможенной процедуры,IMEI,Код ТН ВЭД',
        'KZ-1,40,352099001761481,8517 13 000 0',
        'KZ-M,40,35209900176149,8517.62.000.0',
        'KZ-N,40,35209900176150,',
      ].join('\n'),
    );
    const store = openStore({ dataDir: join(dir, 'file') });
    try {
      const report = await loadDeclarations(store, file, { hsCodesInScope: rules.hsCodesInScope });
      expect(report).toMatchObject({ rowsRead: 3, rowsLoaded: 2, rowsOutOfScope: 1, rowsRejected: 0 });
      expect(store.declarations.get('35209900176149')).toBeUndefined();
      expect(store.applications.get('KZ-M')).toMatchObject({ hsCode: MODEM_HS, imeiCount: 0 });
      expect(store.declarations.get('35209900176148')).toHaveLength(1);
      expect(store.declarations.get('35209900176150')).toHaveLength(1);
    } finally {
      await store.close();
    }
  });

  it('the topic: a decision outside the scope records its application only', async () => {
    const store = openStore({ dataDir: join(dir, 'topic') });
    try {
      const table = declarationsTable(createLogger('silent'), undefined, rules.hsCodesInScope);
      const value = {
        applicationId: 'KZ-M',
        procedure: '40',
        status: 'released',
        hsCode: MODEM_HS,
        imeis: ['352099001761481'],
        decidedAt: '2026-11-20T09:00:00Z',
      };
      const changes = { bodies: new Set<string>(), applications: new Set<string>() };
      await store.env.transaction(() =>
        applyMessages(
          table,
          store,
          [
            {
              topic: 'd',
              partition: 0,
              offset: 0,
              key: null,
              value: Buffer.from(JSON.stringify(value)),
              timestamp: 0,
            },
          ],
          changes,
        ),
      );
      expect(store.declarations.get(BODY)).toBeUndefined();
      expect(store.applications.get('KZ-M')).toMatchObject({ hsCode: MODEM_HS, imeiCount: 0 });
      expect([...changes.bodies]).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
