/**
 * Where the harness (bench/lib/harness.ts) keeps its files: its cluster key in
 * `<tmp>/imeiflow-key-<pid>-XXXXXX/`, so that the tests can remove a process's own
 * (test/support/tmp.ts) without loading the harness and its Kafka client.
 */

/** The start of the name of the cluster key directory the harness makes in process `pid`. */
export function harnessKeyDirPrefix(pid: number = process.pid): string {
  return `imeiflow-key-${pid}-`;
}
