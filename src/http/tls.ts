/**
 * HTTPS for the control plane and the identity of a client certificate (mutual TLS).
 *
 * Seed 001 §2, §5 authenticate people with a digital signature (ЭЦП) issued by the national
 * certification authority. Its certificates carry the holder's IIN in the subject's serial
 * number (`SERIALNUMBER=IIN123456789012`), so a client certificate signed by the configured CA
 * identifies a person by IIN, and the configuration maps that IIN to an account name and a role.
 *
 * The server asks for a certificate but does not insist on one at the handshake: machines
 * authenticate with bearer tokens, and the probes and Prometheus reach /healthz, /readyz and
 * /metrics without either. A certificate that is presented is judged per request (auth.ts): one
 * that does not verify against the CA, or names no configured person, is refused — never
 * silently passed over for a token.
 */
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { createSecureContext, type PeerCertificate, TLSSocket } from 'node:tls';
import type { Config } from '../config/config.js';
import { ImeiflowError, messageOf } from '../errors.js';
import type { Role } from '../security/roles.js';

type Mapping = Config['http']['tls']['clientCertificates'][number];

/** `http.tls` of the configuration (read-only: the configuration is frozen). */
export interface HttpTlsSettings {
  readonly certFile: string | null;
  readonly keyFile: string | null;
  readonly clientCaFile: string | null;
  readonly clientCertificates: readonly Readonly<Mapping>[];
}

/** What Fastify's `https` option receives. */
export interface HttpsOptions {
  readonly key: Buffer;
  readonly cert: Buffer;
  readonly ca?: Buffer;
  readonly requestCert: boolean;
  /** The handshake admits clients without a certificate; auth.ts refuses a bad one per request. */
  readonly rejectUnauthorized: false;
  readonly minVersion: 'TLSv1.2';
}

function readPem(file: string, setting: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ImeiflowError('CONFIG_INVALID', `${setting}: ${file} cannot be read: ${messageOf(error)}`, {
      cause: error,
    });
  }
}

/** The HTTPS options, or null for plain HTTP. Reads the files now: a bad one stops start-up. */
export function httpsOptions(tls: HttpTlsSettings): HttpsOptions | null {
  if (tls.certFile === null || tls.keyFile === null) return null;
  const cert = readPem(tls.certFile, 'http.tls.certFile (IMEIFLOW_HTTP_TLS_CERT_FILE)');
  const key = readPem(tls.keyFile, 'http.tls.keyFile (IMEIFLOW_HTTP_TLS_KEY_FILE)');
  const ca =
    tls.clientCaFile === null
      ? undefined
      : readPem(tls.clientCaFile, 'http.tls.clientCaFile (IMEIFLOW_HTTP_TLS_CLIENT_CA_FILE)');
  try {
    // Parses every PEM and checks the key belongs to the certificate, so a wrong file is named
    // here rather than surfacing as a failed handshake later.
    createSecureContext({ key, cert, ...(ca === undefined ? {} : { ca }) });
  } catch (error) {
    const files = [tls.certFile, tls.keyFile, tls.clientCaFile].filter((f) => f !== null).join(', ');
    throw new ImeiflowError(
      'CONFIG_INVALID',
      `http.tls: the certificate, key or CA in ${files} cannot be used: ${messageOf(error)}`,
      { cause: error },
    );
  }
  return {
    key,
    cert,
    ...(ca === undefined ? {} : { ca }),
    requestCert: ca !== undefined,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
  };
}

/** Who a request's client certificate says it comes from. */
export type PeerIdentity =
  /** No certificate (or plain HTTP): a bearer token decides. */
  | { readonly kind: 'none' }
  | {
      readonly kind: 'person';
      readonly iin: string;
      readonly name: string;
      readonly role: Role;
      /** The operator an `operator` holder acts for; null otherwise (src/security/tenancy.ts). */
      readonly operator: string | null;
    }
  | { readonly kind: 'refused'; readonly detail: string };

const IIN_SERIAL = /^IIN(\d{12})$/;

/** The IIN in a certificate subject's serialNumber (`IIN123456789012`), if there is one. */
export function iinOfSubject(subject: PeerCertificate['subject'] | undefined): string | undefined {
  // Node gives a repeated attribute as an array; its typings say string only.
  const raw: unknown = subject?.['serialNumber' as keyof PeerCertificate['subject']];
  const values = Array.isArray(raw) ? raw : [raw];
  for (const value of values) {
    const match = typeof value === 'string' ? IIN_SERIAL.exec(value.trim()) : null;
    if (match !== null) return match[1]!;
  }
  return undefined;
}

const NONE: PeerIdentity = { kind: 'none' };

export class CertificateIdentities {
  readonly #byIin: ReadonlyMap<string, { name: string; role: Role; operator: string | null }>;
  /**
   * A keep-alive connection presents its certificate once: judge it once. (Whether its holder
   * may still act — revoked, idle — is checked on every request: auth.ts.)
   */
  readonly #bySocket = new WeakMap<TLSSocket, PeerIdentity>();

  constructor(mapping: HttpTlsSettings['clientCertificates']) {
    this.#byIin = new Map(
      mapping.map((m) => [m.iin, { name: m.name, role: m.role, operator: m.operator ?? null }]),
    );
  }

  identify(socket: Socket): PeerIdentity {
    if (!(socket instanceof TLSSocket)) return NONE;
    const known = this.#bySocket.get(socket);
    if (known !== undefined) return known;
    const identity = this.#judge(socket);
    this.#bySocket.set(socket, identity);
    return identity;
  }

  #judge(socket: TLSSocket): PeerIdentity {
    const certificate = socket.getPeerCertificate();
    // Node returns an empty object when the client sent no certificate.
    if (certificate === null || Object.keys(certificate).length === 0) return NONE;
    if (!socket.authorized) {
      return {
        kind: 'refused',
        detail: `the client certificate is not signed by the configured client CA or is not valid now (${String(socket.authorizationError)})`,
      };
    }
    const iin = iinOfSubject(certificate.subject);
    if (iin === undefined) {
      return { kind: 'refused', detail: 'the client certificate names no IIN (subject serialNumber IIN…)' };
    }
    const person = this.#byIin.get(iin);
    if (person === undefined) {
      return { kind: 'refused', detail: 'no person is configured for this client certificate’s IIN' };
    }
    return { kind: 'person', iin, ...person };
  }
}
