import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/paths.js';
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
