/**
 * How the CLI finds the embedded cluster of a service running on a data directory: the service
 * writes its bootstrap address and pid into the data directory, and removes the file when it
 * stops (a file left by a killed service names a pid that no longer runs, and is ignored).
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Written by `imeiflow run` on the embedded cluster, removed when it stops. */
export const EMBEDDED_CLUSTER_FILE = 'embedded-kafka.json';

export function announceEmbeddedCluster(dataDir: string, bootstrapServers: string): void {
  writeFileSync(
    join(dataDir, EMBEDDED_CLUSTER_FILE),
    `${JSON.stringify({ bootstrapServers, pid: process.pid })}\n`,
  );
}

export function withdrawEmbeddedCluster(dataDir: string): void {
  rmSync(join(dataDir, EMBEDDED_CLUSTER_FILE), { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as { code?: string }).code === 'EPERM';
  }
}

/** The embedded cluster of a service running on this data directory, if one does. */
export function runningEmbeddedCluster(dataDir: string): string | undefined {
  const file = join(dataDir, EMBEDDED_CLUSTER_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const { bootstrapServers, pid } = JSON.parse(readFileSync(file, 'utf8')) as {
      bootstrapServers: string;
      pid: number;
    };
    return alive(pid) ? bootstrapServers : undefined;
  } catch {
    return undefined;
  }
}
