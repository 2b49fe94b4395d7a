import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addMonths, monthOfInstant } from '../../src/domain/kgd-export.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import type { AuditEntry } from '../../src/store/records.js';
import { openStore } from '../../src/store/store.js';
import { APPLE, imei } from '../support/fixtures.js';
import { putSealed } from '../support/sealed.js';
import { tempDir } from '../support/tmp.js';

const dataDir = join(tempDir(), 'data');
const samples = join(PACKAGE_ROOT, 'config/samples');

function imeiflow(...args: string[]) {
  const result = spawnSync(process.execPath, [join(PACKAGE_ROOT, 'bin/imeiflow.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, IMEIFLOW_DATA_DIR: dataDir },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The audit trail as the CLI appended it to the data directory. */
function auditFile(): AuditEntry[] {
  return readFileSync(join(dataDir, 'audit.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as AuditEntry);
}

const ACTOR = `cli:${userInfo().username}`;

describe('imeiflow CLI (the built binary)', () => {
  it('--help lists the commands and exits 0', () => {
    const { code, stdout } = imeiflow('--help');
    expect(code).toBe(0);
    for (const command of ['load-tac', 'load-declarations', 'load-blocklist', 'check'])
      expect(stdout).toContain(command);
  });

  it('exits 2 on usage errors', () => {
    expect(imeiflow('no-such-command').code).toBe(2);
    expect(imeiflow('load-tac').code).toBe(2);
    expect(imeiflow('check', '1', '--channel', 'smuggled').code).toBe(2);
  });

  it('check before anything is loaded explains what to do and exits 1', () => {
    const { code, stderr } = imeiflow('check', '352099001761481');
    expect(code).toBe(1);
    expect(stderr).toContain('load a TAC table first');
  });

  it('loads the samples and explains a confirmation rule by rule', () => {
    expect(imeiflow('load-tac', join(samples, 'tac.csv')).stdout).toContain('6 loaded, 0 rejected');
    expect(imeiflow('load-declarations', join(samples, 'declarations.csv')).code).toBe(0);
    expect(imeiflow('load-blocklist', join(samples, 'blocklist.csv')).code).toBe(0);
    const { code, stdout } = imeiflow('check', '352099001761481');
    expect(code).toBe(0);
    expect(stdout).toContain('TAC 35209900: Apple iPhone 6 (Smartphone)');
    expect(stdout).toContain(
      '→ confirmed (evidence kgd-release): released under application KZ-2025-000042, procedure 40',
    );
  });

  it('every load is audited with the OS user as actor and the --basis given', () => {
    expect(
      imeiflow('load-blocklist', join(samples, 'blocklist.csv'), '--basis', 'letter 12-3/456').code,
    ).toBe(0);
    const loads = auditFile().filter((e) => e.action.startsWith('load.'));
    expect(loads.map((e) => e.action)).toEqual([
      'load.tac',
      'load.declarations',
      'load.blocklist',
      'load.blocklist',
    ]);
    expect(loads.every((e) => e.actor === ACTOR && e.role === 'admin')).toBe(true);
    expect(loads.at(-1)).toMatchObject({ basis: 'letter 12-3/456' });
    expect(loads.at(-1)!.target).toMatch(/blocklist\.csv: \d+ rows loaded, 0 rejected$/);
    expect(loads.at(-1)!.atAstana).toMatch(/\+05:00$/);
  });

  it('check of a registered device withholds the recorded owner without --basis; with it, shows it and audits the read', async () => {
    const device = imei(APPLE, 4242);
    const store = openStore({ dataDir });
    // As the service stores it: owner and phone sealed under the store's subject keys.
    await putSealed(store, (put) =>
      put.registry(device.slice(0, 14), {
        requestId: 'r-77',
        partition: 0,
        imei: device,
        ownerId: '880101300123',
        msisdn: '+77011234567',
        evidence: 'manual',
        operator: 'beeline',
        applicationId: null,
        procedure: null,
        at: '2026-11-20T10:00:00.000Z',
      }),
    );
    await store.close();
    const before = auditFile().length;
    const withheld = imeiflow('check', device, '--owner', '990340005977');
    expect(withheld.code).toBe(0);
    expect(withheld.stdout).not.toContain('880101300123');
    expect(withheld.stdout).not.toContain('+77011234567');
    expect(withheld.stdout).toContain('registered owner and phone: withheld; give --basis');
    expect(withheld.stdout).toContain('→ review (owner_conflict)');
    const noOwner = imeiflow('check', device, '--json');
    expect(JSON.parse(noOwner.stdout)).toMatchObject({
      decision: { outcome: 'rejected', reason: 'invalid_request' },
      withheld: true,
      personalData: false,
    });
    expect(noOwner.stdout).not.toContain('880101300123');
    expect(auditFile().length).toBe(before);

    const shown = imeiflow('check', device, '--owner', '990340005977', '--basis', 'case 2026/9');
    expect(shown.stdout).toContain('registered owner: 880101300123, phone +77011234567');
    expect(auditFile().slice(before)).toEqual([
      expect.objectContaining({
        actor: ACTOR,
        action: 'check.read-personal',
        basis: 'case 2026/9',
        target: device,
      }),
    ]);
  });

  it('check --json gives the decision and the steps', () => {
    const { stdout } = imeiflow('check', '356865110000011', '--json');
    const parsed = JSON.parse(stdout) as { decision: { reason: string }; steps: string[] };
    expect(parsed.decision.reason).toBe('blocklisted');
    expect(parsed.steps.length).toBeGreaterThan(2);
  });

  it('a load with rejected rows reports them by line and exits 1', () => {
    const { code, stdout } = imeiflow('load-tac', join(PACKAGE_ROOT, 'test/fixtures/tac-with-errors.csv'));
    expect(code).toBe(1);
    expect(stdout).toMatch(/line 3: TAC "1234" is not 8 digits/);
  });

  it("load-declarations records the KGD export's month: --month, else its decisions' dates", async () => {
    expect(imeiflow('load-declarations', join(samples, 'declarations.csv'), '--month', '2026-13').code).toBe(
      2,
    );
    // The month before last has ended whatever today is.
    const month = addMonths(monthOfInstant(new Date(), 300), -2);
    const file = join(dataDir, '..', 'kgd-export.csv');
    writeFileSync(
      file,
      `ID заявки,Код таможенной процедуры,IMEI,decided_at\nKZ-CLI-1,40,${imei(APPLE, 71)},${month}-03T10:00:00Z\n`,
    );
    const fromDates = imeiflow('load-declarations', file);
    expect(fromDates.code, fromDates.stderr).toBe(0);
    expect(fromDates.stdout).toContain(
      `recorded as the KGD monthly export of ${month} (from the decisions' dates)`,
    );
    const earlier = addMonths(month, -1);
    const given = imeiflow('load-declarations', file, '--month', earlier, '--json');
    expect(JSON.parse(given.stdout)).toMatchObject({
      kgdExport: {
        month: earlier,
        from: 'option',
        warnings: [`rows dated outside ${earlier}, the month given: ${month}: 1 row`],
      },
    });
    const store = openStore({ dataDir });
    try {
      expect(store.exports.get(`kgd/${month}`)).toMatchObject({
        file: 'kgd-export.csv',
        actor: ACTOR,
        rows: 1,
      });
      expect(store.exports.get(`kgd/${earlier}`)).toMatchObject({ monthFrom: 'option' });
    } finally {
      await store.close();
    }
    expect(auditFile().at(-1)!.target).toMatch(
      new RegExp(`kgd-export\\.csv: 1 rows loaded, 0 rejected; KGD export of ${earlier}$`),
    );
  });

  it('a missing file exits 1 with its name', () => {
    const { code, stderr } = imeiflow('load-blocklist', '/nonexistent/list.csv');
    expect(code).toBe(1);
    expect(stderr).toContain('/nonexistent/list.csv');
  });

  it('a bad environment variable stops it with the variable named', () => {
    const result = spawnSync(process.execPath, [join(PACKAGE_ROOT, 'bin/imeiflow.js'), 'check', '1'], {
      encoding: 'utf8',
      env: { ...process.env, IMEIFLOW_DATA_DIR: dataDir, IMEIFLOW_HTTP_PORT: 'eighty' },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('IMEIFLOW_HTTP_PORT');
  });
});
