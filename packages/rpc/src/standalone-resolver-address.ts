import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// The standalone runs its dns-resolver on a loopback port of its own choosing; `tegami`
// commands that look names up (`dkim check`) find it through this file in the data
// directory, so they see the same upstreams and cache as the mail system does.

const FILE_NAME = 'dns-resolver.json';

/** Records the running resolver's gRPC target; the returned function removes the record. */
export function publishStandaloneResolver(dataDir: string, target: string): () => void {
  const file = join(dataDir, FILE_NAME);
  writeFileSync(file, `${JSON.stringify({ pid: process.pid, target })}\n`, { mode: 0o600 });
  return () => {
    if (readRecord(file)?.pid === process.pid) rmSync(file, { force: true });
  };
}

/** The gRPC target of the standalone's resolver when a live standalone recorded one. */
export function standaloneResolverTarget(dataDir: string): string | undefined {
  const record = readRecord(join(dataDir, FILE_NAME));
  if (!record) return undefined;
  try {
    process.kill(record.pid, 0);
  } catch (err) {
    // EPERM: alive, but another user's. ESRCH: gone, and the record is stale.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return record.target;
}

function readRecord(file: string): { pid: number; target: string } | undefined {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown; target?: unknown };
    return typeof value.pid === 'number' && typeof value.target === 'string'
      ? { pid: value.pid, target: value.target }
      : undefined;
  } catch {
    return undefined;
  }
}
