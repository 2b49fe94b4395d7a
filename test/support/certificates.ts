/**
 * Certificates made with the openssl command line for the TLS tests: a CA, a server certificate
 * for localhost, and client certificates whose subject carries a Kazakh-ЭЦП-style
 * `serialNumber=IIN…`. EC P-256 keys: quick to make.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pair {
  readonly cert: string;
  readonly key: string;
}

let serial = 1000;

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A self-signed CA in `dir`. */
export function makeCa(dir: string, name: string): Pair {
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  // biome-ignore format: one openssl option per line pair
  openssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', pair.key, '-out', pair.cert, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  return pair;
}

/** A certificate for `subject` signed by `ca`, with the extensions given (openssl x509 -extfile syntax). */
export function makeSigned(dir: string, name: string, subject: string, ca: Pair, extensions: string): Pair {
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, `${extensions}\n`);
  // biome-ignore format: one openssl option per line pair
  openssl(dir, 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', pair.key, '-out', csr, '-subj', subject);
  // biome-ignore format: one openssl option per line pair
  openssl(dir, 'x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', String(serial++),
    '-days', '2', '-out', pair.cert, '-extfile', ext);
  return pair;
}

export const SERVER_EXTENSIONS = 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth';
export const CLIENT_EXTENSIONS = 'extendedKeyUsage=clientAuth';
