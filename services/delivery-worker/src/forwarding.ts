import { foldLongLines, type SrsOptions, srsForward } from '@tegami/protocol';
import type { DueDelivery, QueueEntry } from '@tegami/store';
import { type ArcSealKey, arcSeal } from './arc-seal.js';

// Mail an alias forwards to another domain leaves from our IP addresses with someone else's
// envelope sender: SPF at the receiver fails it (the sender's domain never allowed us). So
// the sender is rewritten with SRS to an address of the alias's domain, whose SPF does allow
// us, and whose bounces smtp-ingress routes back (policy.ts). The message gets an ARC set,
// signed by the alias's domain, that vouches for what we saw on arrival (arc-seal.ts).

/** How one forwarded recipient's copy goes out. */
export interface ForwardedCopy {
  /** MAIL FROM: the SRS address, or the original sender when it cannot or need not be rewritten. */
  readonly sender: string;
  /** Long lines folded (as remote-delivery does), then sealed when there is a key. */
  readonly message: Buffer;
  /** For the trace and the log: what was done, e.g. `from <SRS0=…@alias.test>, ARC i=1 cv=none by alias.test`. */
  readonly note: string;
}

/** What forwarding logs through (the service's pino logger). */
export interface ForwardingLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface ForwardingDeps {
  /** The authserv-id of our smtp-ingress's Authentication-Results (TEGAMI_HOSTNAME). */
  readonly hostname: string;
  /** TEGAMI_SRS_SECRET_FILE's secrets; without them the original sender goes out. */
  readonly srs: SrsOptions | undefined;
  /** The alias domain's rsa DKIM key to seal with; undefined: none (no seal). */
  readonly arcKey: (domain: string) => Promise<ArcSealKey | undefined>;
  readonly logger: ForwardingLog;
  /** Says something once per process (a missing secret or key is a setting, not an event). */
  readonly warnOnce: (key: string, fields: object, message: string) => void;
}

/** ForwardingDeps whose warnOnce logs each warning the first time only. */
export function forwardingDeps(deps: Omit<ForwardingDeps, 'warnOnce'>): ForwardingDeps {
  const warned = new Set<string>();
  return {
    ...deps,
    warnOnce(key, fields, message) {
      if (warned.has(key)) return;
      warned.add(key);
      deps.logger.warn(fields, message);
    },
  };
}

/**
 * The copies of the remote recipients that came through an alias (`expandedFrom` set), by
 * delivery id; the other recipients go out as the queue entry says. One copy per alias
 * domain: its SRS address and seal are the same for every recipient it forwards to.
 */
export async function forwardedCopies(
  deps: ForwardingDeps,
  entry: QueueEntry,
  remote: readonly DueDelivery[],
  message: Buffer,
  localDomains: ReadonlySet<string>,
  now: Date,
): Promise<Map<string, ForwardedCopy>> {
  const copies = new Map<string, ForwardedCopy>();
  const byAliasDomain = new Map<string, Promise<ForwardedCopy>>();
  for (const d of remote) {
    if (d.expandedFrom === null) continue;
    const aliasDomain = domainOf(d.expandedFrom);
    let copy = byAliasDomain.get(aliasDomain);
    if (!copy) {
      copy = forwardedCopy(deps, entry, aliasDomain, message, localDomains, now);
      byAliasDomain.set(aliasDomain, copy);
    }
    copies.set(d.id, await copy);
  }
  return copies;
}

async function forwardedCopy(
  deps: ForwardingDeps,
  entry: QueueEntry,
  aliasDomain: string,
  message: Buffer,
  localDomains: ReadonlySet<string>,
  now: Date,
): Promise<ForwardedCopy> {
  const sender = forwardingSender(deps, entry, aliasDomain, localDomains, now);
  const notes = [sender === entry.sender ? `from <${sender}> unchanged` : `from <${sender}>`];
  let outgoing = foldLongLines(message);
  let key: ArcSealKey | undefined;
  try {
    key = await deps.arcKey(aliasDomain);
  } catch (err) {
    // A store failure costs the seal of this attempt, not the delivery.
    deps.logger.warn(
      { err, queueId: entry.queueId, domain: aliasDomain },
      'could not read the ARC key; not sealed',
    );
  }
  if (!key) {
    deps.warnOnce(
      `arc-key:${aliasDomain}`,
      { domain: aliasDomain },
      'forwarded mail is not ARC-sealed: the alias domain has no active rsa DKIM key this worker can open (tegami dkim create <domain> --algorithm rsa; TEGAMI_SECRETS_KEY_FILE)',
    );
    notes.push('not ARC-sealed (no rsa key)');
  } else {
    const sealed = await arcSeal(outgoing, key, deps.hostname, now).catch(
      (err: Error) => ({ kind: 'not-sealed', reason: `mailauth failed: ${err.message}` }) as const,
    );
    if (sealed.kind === 'sealed') {
      outgoing = sealed.message;
      notes.push(`ARC i=${sealed.instance} cv=${sealed.cv} by ${key.domain}`);
    } else {
      deps.logger.info(
        { queueId: entry.queueId, domain: aliasDomain, reason: sealed.reason },
        'forwarded mail not ARC-sealed',
      );
      notes.push(`not ARC-sealed: ${sealed.reason}`);
    }
  }
  return { sender, message: outgoing, note: notes.join(', ') };
}

/**
 * MAIL FROM for mail forwarded through an alias of `aliasDomain`. Unchanged: the null sender
 * (a bounce has no one to bounce to), a sender of one of our domains (our SPF covers it),
 * and, with no secret or an address too long to wrap, anyone (SPF may fail, as before).
 */
function forwardingSender(
  deps: ForwardingDeps,
  entry: QueueEntry,
  aliasDomain: string,
  localDomains: ReadonlySet<string>,
  now: Date,
): string {
  if (entry.sender === '' || localDomains.has(domainOf(entry.sender))) return entry.sender;
  if (!deps.srs) {
    deps.warnOnce(
      'srs-secret',
      {},
      'forwarding to other domains with the original sender, which fails SPF there: set TEGAMI_SRS_SECRET_FILE',
    );
    return entry.sender;
  }
  const rewritten = srsForward(entry.sender, aliasDomain, deps.srs, now);
  switch (rewritten.kind) {
    case 'rewritten':
      return rewritten.address;
    case 'too-long':
      deps.logger.warn(
        { queueId: entry.queueId, sender: entry.sender },
        'sender too long to rewrite with SRS (the address would pass 254 octets): forwarded unchanged',
      );
      return entry.sender;
    case 'unsuitable':
      deps.logger.warn(
        { queueId: entry.queueId, sender: entry.sender },
        'sender that SRS cannot carry (a quoted local part): forwarded unchanged',
      );
      return entry.sender;
  }
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}
