/**
 * Where the harness (bench/lib/harness.ts) keeps its files: its cluster key in
 * `<tmp>/imeiflow-key-<pid>-XXXXXX/`, so that the tests can remove a process's own
 * (test/support/tmp.ts) without loading the harness and its Kafka client.
 */
export const HARNESS_KEY_DIR_PREFIX = 'imeiflow-key-';
