import { connectNatsBus } from '@tegami/bus';
import { assertSchemaCurrent, loadMigrations, type StorePool } from '@tegami/store';

export interface CheckTarget {
  readonly store: StorePool;
  /** Unset in standalone mode, whose bus is in-process. */
  readonly nats?: { readonly servers: readonly string[]; readonly prefix: string };
}

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/**
 * `tegami check`: does each dependency answer, and is the schema what this code expects?
 * What an operator runs first when a pod will not become ready.
 */
export async function checkDependencies(
  target: CheckTarget,
  describeError: (err: unknown) => string,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  try {
    await target.store.ping();
    await assertSchemaCurrent(target.store.pool);
    const version = Math.max(...loadMigrations().map((m) => m.version));
    results.push({ name: 'postgres', ok: true, detail: `schema version ${version} (current)` });
  } catch (err) {
    results.push({ name: 'postgres', ok: false, detail: describeError(err) });
  }
  if (target.nats) {
    try {
      const bus = await connectNatsBus({
        servers: target.nats.servers,
        prefix: target.nats.prefix,
        connectTimeoutMs: 3000,
      });
      try {
        await bus.ping();
      } finally {
        await bus.close();
      }
      results.push({ name: 'nats', ok: true, detail: `JetStream answers (prefix ${target.nats.prefix})` });
    } catch (err) {
      results.push({ name: 'nats', ok: false, detail: describeError(err) });
    }
  } else {
    results.push({ name: 'nats', ok: true, detail: 'not used (standalone: in-process bus)' });
  }
  return results;
}
