// After EXPUNGE or MOVE has committed, its tagged answer must be OK: a NO would tell the
// client nothing was removed when it was (the chaos run caught an APPENDed message gone
// after an EXPUNGE answered NO [UNAVAILABLE]). What follows the commit is only reading
// the news for this session (the EXPUNGE responses), and that read can meet the same
// outage. So it waits a little for the store; if the store stays away, the view is left
// dirty and the news goes out with a later command (RFC 3501 §7.4.1 lets EXPUNGE come
// then), and the command still answers OK.

import { isStoreOutage } from '../../store-outage.js';
import type { SelectedMailbox, ViewUpdate } from '../selected-mailbox.js';

const PATIENCE_MS = 10_000;

export async function syncAfterChange(
  selected: SelectedMailbox,
  options: { patienceMs?: number; sleep?: (ms: number) => Promise<void> } = {},
): Promise<ViewUpdate | undefined> {
  const patience = options.patienceMs ?? PATIENCE_MS;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const started = Date.now();
  let pause = 200;
  for (;;) {
    try {
      return await selected.sync(true);
    } catch (err) {
      if (!isStoreOutage(err)) throw err;
      if (Date.now() - started + pause > patience) {
        selected.dirty = true;
        return undefined;
      }
      await sleep(pause);
      pause = Math.min(pause * 2, 2_000);
    }
  }
}
