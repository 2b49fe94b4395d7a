/**
 * The cluster key (issue 22, point 5): the secret every instance and the command line sign and
 * verify the events of the internal topics that grant access or destroy data with — the tokens
 * topic and the audit trail, whose purge entries are orders (src/security/signed-events.ts).
 *
 * Read from a file (`security.clusterKeyFile`, IMEIFLOW_CLUSTER_KEY_FILE), never logged: one key
 * a line, `#` comments and blank lines ignored. **The first key signs; every key listed
 * verifies.** Rotation is adding a key below the current one everywhere, then moving it to the
 * top (docs/control-plane.md, "Internal topics carry proof"). Each key has an id — an HMAC of a
 * fixed text under the key, which says nothing about the key — carried in every signature, so a
 * verifier picks the key and an operator sees which key signed what.
 *
 * Where the file is: named by the setting; or, on the embedded cluster (KAFKA_BROKERS unset),
 * `<data dir>/cluster.key`, which the service writes (0600) on its first start and the command
 * line reads when it acts through that service. On a real cluster the setting is required: a key
 * made up by each instance would make every instance refuse the others' events.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImeiflowError, messageOf } from '../errors.js';

/** The file the embedded cluster's key is kept in, in the data directory. */
export const EMBEDDED_KEY_FILE = 'cluster.key';

/** Printable ASCII without spaces; 32 characters at least (`openssl rand -base64 32` gives 44). */
const KEY_PATTERN = /^[\x21-\x7e]{32,512}$/;
/** Keys a file may list: the current one and the ones it replaced that still verify. */
const MAX_KEYS = 16;
const KEY_ID_TEXT = 'imeiflow cluster key id v1';

export interface ClusterKey {
  /** 8 hex digits, derived from the key: what signatures and logs name. */
  readonly id: string;
  readonly secret: Buffer;
}

export interface ClusterKeys {
  /** The file they were read from (for messages; its content is never shown). */
  readonly file: string;
  /** The first key listed: every new event is signed with it. */
  readonly signing: ClusterKey;
  /** Every key listed, by id: an event signed with any of them verifies. */
  readonly verifying: ReadonlyMap<string, ClusterKey>;
}

const SETTING = 'security.clusterKeyFile (IMEIFLOW_CLUSTER_KEY_FILE)';

function invalid(message: string, cause?: unknown): ImeiflowError {
  return new ImeiflowError('CONFIG_INVALID', message, cause === undefined ? {} : { cause });
}

export function keyIdOf(secret: Buffer): string {
  return createHmac('sha256', secret).update(KEY_ID_TEXT).digest('hex').slice(0, 8);
}

/** The keys of a key file's text. Errors name the file and line, never what the line holds. */
export function parseClusterKeys(text: string, file: string): ClusterKeys {
  const keys: ClusterKey[] = [];
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (!KEY_PATTERN.test(line)) {
      // The length only, never the content.
      throw invalid(
        `${SETTING}: line ${index + 1} of ${file} is not a key: a key is 32–512 printable ASCII characters ` +
          `without spaces (this line holds ${line.length} characters); make one with: openssl rand -base64 32`,
      );
    }
    const secret = Buffer.from(line, 'utf8');
    const id = keyIdOf(secret);
    if (keys.some((k) => k.id === id))
      throw invalid(`${SETTING}: ${file} lists key ${id} twice (line ${index + 1})`);
    keys.push({ id, secret });
  }
  const [signing] = keys;
  if (signing === undefined)
    throw invalid(`${SETTING}: ${file} holds no key; make one with: openssl rand -base64 32 > ${file}`);
  if (keys.length > MAX_KEYS)
    throw invalid(
      `${SETTING}: ${file} lists ${keys.length} keys; at most ${MAX_KEYS} (drop the oldest: docs/control-plane.md)`,
    );
  return { file, signing, verifying: new Map(keys.map((k) => [k.id, k])) };
}

export function readClusterKeys(file: string): ClusterKeys {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw invalid(`${SETTING}: ${file} cannot be read: ${messageOf(error)}`, error);
  }
  return parseClusterKeys(text, file);
}

/** A new key file's text: a comment saying what it is, and one random key. */
export function newClusterKeyFileText(): string {
  return (
    '# imeiflow cluster key: signs and verifies the events of the tokens and audit topics.\n' +
    '# The first key signs; every key listed verifies (rotation: docs/control-plane.md).\n' +
    `${randomBytes(32).toString('base64url')}\n`
  );
}

/** What the keys are read from: the settings, and whether a key may be made when there is none. */
export interface ClusterKeyConfig {
  readonly dataDir: string;
  readonly kafka: { readonly brokers: string | null };
  readonly security: { readonly clusterKeyFile: string | null };
}

/**
 * The cluster's keys. `create`: the embedded service on its first start writes
 * `<data dir>/cluster.key` when no file is configured (0600, never replacing one: a second
 * process starting at the same moment reads the first one's). On a real cluster the file must be
 * configured.
 */
export function clusterKeysOf(config: ClusterKeyConfig, options: { readonly create: boolean }): ClusterKeys {
  const configured = config.security.clusterKeyFile;
  if (configured !== null) return readClusterKeys(configured);
  if (config.kafka.brokers !== null) {
    throw invalid(
      `${SETTING} is required with KAFKA_BROKERS set: every instance and the command line sign and verify the ` +
        'tokens and audit topics with the same key. Make one (openssl rand -base64 32 > cluster.key, mode 0600), ' +
        'give it to each of them, and set the variable to its path (docs/control-plane.md, "Internal topics carry proof")',
    );
  }
  const file = join(config.dataDir, EMBEDDED_KEY_FILE);
  if (options.create) {
    mkdirSync(config.dataDir, { recursive: true });
    try {
      writeFileSync(file, newClusterKeyFileText(), { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'EEXIST')
        throw invalid(`${file} cannot be written: ${messageOf(error)}`, error);
    }
  }
  return readClusterKeys(file);
}
