import type { DueDelivery, QueueEntry } from '@tegami/store';
import type { DkimSigning } from './dkim-signing.js';
import { type ForwardedCopy, type ForwardingDeps, forwardedCopies } from './forwarding.js';
import { deliverToDomain, type RemoteDeliveryDeps, type RemoteOutcome } from './remote-delivery.js';

export interface RemoteAttemptDeps {
  readonly remote: RemoteDeliveryDeps;
  readonly dkim: DkimSigning;
  readonly forwarding: ForwardingDeps;
}

/**
 * The remote domains of one attempt, side by side. The message is DKIM-signed once for all
 * of them (not per domain or MX); the copies an alias forwards get an SRS sender and an ARC
 * seal over that (forwarding.ts). If either fails, the recipients are deferred.
 */
export async function deliverRemotely(
  deps: RemoteAttemptDeps,
  entry: QueueEntry,
  remote: ReadonlyMap<string, readonly DueDelivery[]>,
  message: Buffer,
  localDomains: ReadonlySet<string>,
  now: Date,
): Promise<{ outcomes: RemoteOutcome[]; forwarded: ReadonlyMap<string, ForwardedCopy> }> {
  if (remote.size === 0) return { outcomes: [], forwarded: new Map() };
  const due = [...remote.values()].flat();
  const prepared = deps.dkim.outgoing(message, entry.sender).then(async (signed) => ({
    signed,
    forwarded: await forwardedCopies(deps.forwarding, entry, due, signed, localDomains, now),
  }));
  const outcomes = await Promise.all(
    [...remote].map(([domain, list]) =>
      prepared
        .then(({ signed, forwarded }) => deliverToDomain(deps.remote, domain, entry, list, signed, forwarded))
        .catch((err): RemoteOutcome[] =>
          list.map((delivery) => ({
            kind: 'deferred',
            delivery,
            reply: `internal error: ${(err as Error).message}`,
            statusCode: '4.3.0',
          })),
        ),
    ),
  );
  const forwarded = await prepared.then(
    (p) => p.forwarded,
    () => new Map<string, ForwardedCopy>(),
  );
  return { outcomes: outcomes.flat(), forwarded };
}
