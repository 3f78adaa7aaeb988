import { isStoreOutage } from '@tegami/protocol';

// After a remote MX said 250, the record of it is what stands between the message and a
// second delivery: if writing it fails, the recipient is tried again once its claim runs
// out. A store that is away for a moment (a restart, a partition: the chaos run's faults)
// is waited for, within the claim this worker still holds. The write is safe to repeat:
// a statement that committed before its answer was lost finds nothing left to settle.

const PATIENCE_MS = 30_000;

export async function settleSurely<T>(
  write: () => Promise<T>,
  options: { patienceMs?: number; sleep?: (ms: number) => Promise<void> } = {},
): Promise<T> {
  const patience = options.patienceMs ?? PATIENCE_MS;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const started = Date.now();
  let wait = 250;
  for (;;) {
    try {
      return await write();
    } catch (err) {
      if (!isStoreOutage(err) || Date.now() - started + wait > patience) throw err;
      await sleep(wait);
      wait = Math.min(wait * 2, 2_000);
    }
  }
}
