/**
 * The parts of mutual TLS that need no certificates: reading the IIN from a certificate subject,
 * and clear start-up errors for unreadable or unusable files. The handshake itself, with
 * certificates made by openssl, is test/integration/control-plane-tls.test.ts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isImeiflowError } from '../../src/errors.js';
import { httpsOptions, iinOfSubject } from '../../src/http/tls.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir();
const tls = {
  certFile: null,
  keyFile: null,
  clientCaFile: null,
  clientCertificates: [],
} as const;

function thrown(work: () => unknown): Error {
  try {
    work();
  } catch (error) {
    expect(isImeiflowError(error, 'CONFIG_INVALID')).toBe(true);
    return error as Error;
  }
  throw new Error('expected an error');
}

describe('iinOfSubject', () => {
  it('reads IIN… from the subject serialNumber, as Kazakh ЭЦП certificates carry it', () => {
    expect(iinOfSubject({ CN: 'NURLANOVA AIGUL', serialNumber: 'IIN880101300123', C: 'KZ' } as never)).toBe(
      '880101300123',
    );
    // A repeated attribute arrives as an array.
    expect(iinOfSubject({ serialNumber: ['X1', 'IIN880101300123'] } as never)).toBe('880101300123');
  });

  it('finds none in a subject without it, with a BIN, or with a malformed one', () => {
    expect(iinOfSubject({ CN: 'robot' } as never)).toBeUndefined();
    expect(iinOfSubject({ serialNumber: 'BIN990340005977' } as never)).toBeUndefined();
    expect(iinOfSubject({ serialNumber: 'IIN88010130012' } as never)).toBeUndefined();
    expect(iinOfSubject(undefined)).toBeUndefined();
  });
});

describe('httpsOptions', () => {
  it('plain HTTP when no certificate is configured', () => {
    expect(httpsOptions(tls)).toBeNull();
  });

  it('names an unreadable file and its variable', () => {
    const error = thrown(() =>
      httpsOptions({ ...tls, certFile: join(dir, 'missing.crt'), keyFile: join(dir, 'missing.key') }),
    );
    expect(error.message).toContain('IMEIFLOW_HTTP_TLS_CERT_FILE');
    expect(error.message).toContain(join(dir, 'missing.crt'));
  });

  it('names files that are not a usable certificate and key', () => {
    const cert = join(dir, 'garbage.crt');
    const key = join(dir, 'garbage.key');
    writeFileSync(cert, 'not a certificate');
    writeFileSync(key, 'not a key');
    const error = thrown(() => httpsOptions({ ...tls, certFile: cert, keyFile: key }));
    expect(error.message).toContain(cert);
    expect(error.message).toContain(key);
  });
});
