import { foldLongLines } from '@tegami/protocol';
import { type ResolverClient, ResolveStatus } from '@tegami/rpc';
import type { DueDelivery, QueueEntry } from '@tegami/store';
import { planHostTls, requireTlsRefusal } from './requiretls.js';
import {
  ConnectionFailure,
  type OutboundSession,
  openSmtpSession,
  type RecipientReply,
  type SmtpClientOptions,
} from './smtp-client.js';
import { type HostTlsPolicy, NO_TLS_POLICY, type TlsOutcome } from './tls-policy.js';

// Relay to another domain (RFC 5321 §5): its MX hosts in preference order, each host's
// addresses in turn, until one takes the transaction. Each recipient comes back with
// the reply that decided it.

export type RemoteOutcome =
  | {
      readonly kind: 'relayed' | 'bounced' | 'deferred';
      readonly delivery: DueDelivery;
      readonly reply: string;
      readonly statusCode: string;
      readonly mxHost?: string | undefined;
      readonly address?: string | undefined;
      /** The peer took NOTIFY/ORCPT: it reports success itself, we need not. */
      readonly peerReportsDsn?: boolean | undefined;
    }
  /** Not attempted: every connection slot for the domain is taken. */
  | { readonly kind: 'busy'; readonly delivery: DueDelivery };

export interface RemoteDeliveryDeps {
  readonly resolver: Pick<ResolverClient, 'resolveMx' | 'resolveAddresses'>;
  readonly smtp: SmtpClientOptions;
  readonly port: number;
  /** Holds one connection slot of the domain while fn runs; undefined: none is free. */
  readonly withDomainSlot: <T>(domain: string, fn: () => Promise<T>) => Promise<T | undefined>;
  readonly onConnection?: (domain: string, delta: 1 | -1) => void;
  /** Each connection's TLS outcome (TLS-RPT, RFC 8460): one call per attempt that got to TLS. */
  readonly onTlsOutcome?: ((outcome: TlsOutcome) => void) | undefined;
  /** The TLS policy for one MX host of the domain (DANE, MTA-STS); default: none. */
  readonly tlsPolicy?: (domain: string, mxHost: string, route: MxRoute) => Promise<HostTlsPolicy>;
}

/** How the MX hosts were found: DANE applies only behind an authenticated MX (RFC 7672 §2.2). */
export interface MxRoute {
  /** The MX answer (for an implicit MX: the denial of MX and the addresses) had the AD bit. */
  readonly authenticated: boolean;
  /** The domain has no MX records: the host is the domain itself (RFC 5321 §5.1). */
  readonly implicit: boolean;
}

/** What goes out for one recipient: the envelope sender and the message's bytes. */
export interface Outbound {
  readonly sender: string;
  readonly message: Buffer;
}

/**
 * `forwarded`: by delivery id, the recipients that go out otherwise than the queue entry
 * says (mail an alias forwards: an SRS sender and an ARC-sealed copy, forwarding.ts).
 */
export async function deliverToDomain(
  deps: RemoteDeliveryDeps,
  domain: string,
  entry: QueueEntry,
  deliveries: readonly DueDelivery[],
  message: Buffer,
  forwarded?: ReadonlyMap<string, Outbound>,
): Promise<RemoteOutcome[]> {
  const all = (kind: 'bounced' | 'deferred', reply: string, statusCode: string): RemoteOutcome[] =>
    deliveries.map((delivery) => ({ kind, delivery, reply, statusCode }));

  let mx: Awaited<ReturnType<typeof deps.resolver.resolveMx>>;
  try {
    mx = await deps.resolver.resolveMx(domain);
  } catch (err) {
    return all('deferred', `lookup of MX for ${domain} failed: ${(err as Error).message}`, '4.4.3');
  }
  switch (mx.status) {
    case ResolveStatus.RESOLVE_STATUS_OK:
      break;
    case ResolveStatus.RESOLVE_STATUS_NXDOMAIN:
      return all('bounced', `Host or domain name not found: ${domain} (NXDOMAIN)`, '5.1.2');
    case ResolveStatus.RESOLVE_STATUS_NO_DATA:
      return all('bounced', `${domain} has no MX and no address records`, '5.1.2');
    case ResolveStatus.RESOLVE_STATUS_NULL_MX:
      // RFC 7505 §4.1: 556 5.1.10 for a domain that publishes a null MX.
      return all('bounced', `556 5.1.10 ${domain} accepts no mail (null MX)`, '5.1.10');
    default:
      return all(
        'deferred',
        `temporary DNS failure looking up MX for ${domain}: ${mx.detail || 'no answer'}`,
        '4.4.3',
      );
  }

  // Lines over 998 octets are kept as received here but folded for the next MTA, which
  // may refuse or cut them (RFC 5321 §4.5.3.1.6); a message without one goes unchanged.
  const outgoing = foldLongLines(message);
  const outbound = (d: DueDelivery): Outbound =>
    forwarded?.get(d.id) ?? { sender: entry.sender, message: outgoing };
  const attempted = await deps.withDomainSlot(domain, () =>
    tryHosts(deps, domain, entry, deliveries, outbound, mx.hosts, {
      authenticated: mx.authenticated === true,
      implicit: mx.implicit,
    }),
  );
  return attempted ?? deliveries.map((delivery) => ({ kind: 'busy', delivery }));
}

async function tryHosts(
  deps: RemoteDeliveryDeps,
  domain: string,
  entry: QueueEntry,
  deliveries: readonly DueDelivery[],
  outbound: (d: DueDelivery) => Outbound,
  hosts: readonly { host: string }[],
  route: MxRoute,
): Promise<RemoteOutcome[]> {
  const outcomes: RemoteOutcome[] = [];
  let waiting = [...deliveries];
  let lastFailure = {
    reply: `no MX host of ${domain} could be reached`,
    statusCode: '4.4.1',
    host: '',
    address: '',
  };
  let everyHostRefusedForGood = hosts.length > 0;

  for (const { host } of hosts) {
    if (waiting.length === 0) break;
    const addresses = await resolveAddresses(deps, host);
    if (!addresses.ok) {
      lastFailure = { reply: addresses.reply, statusCode: '4.4.3', host, address: '' };
      everyHostRefusedForGood = false;
      continue;
    }
    let policy: HostTlsPolicy;
    try {
      policy = deps.tlsPolicy ? await deps.tlsPolicy(domain, host, route) : NO_TLS_POLICY;
    } catch (err) {
      // A policy we could not determine is no licence to send without one, unless the sender
      // said TLS-Required: No: then no policy was to be followed anyway (RFC 8689 §4.2.2).
      if (entry.tlsRequiredNo && !entry.requireTls) policy = NO_TLS_POLICY;
      else {
        lastFailure = {
          reply: `TLS policy for ${host} of ${domain} unknown: ${(err as Error).message}`,
          statusCode: '4.7.5',
          host,
          address: '',
        };
        everyHostRefusedForGood = false;
        continue;
      }
    }
    // The sender's say (RFC 8689): REQUIRETLS narrows the hosts and tightens the policy,
    // TLS-Required: No loosens it.
    const plan = planHostTls(entry, policy, host, route);
    if (plan.kind === 'skip') {
      // Refused for good, for this message, unless the policy that may authenticate this MX
      // host could not be had yet.
      lastFailure = { reply: plan.reply, statusCode: plan.statusCode, host, address: '' };
      if (plan.temporary) everyHostRefusedForGood = false;
      continue;
    }
    const report = (
      address: string,
      result: { resultType: TlsOutcome['result']; detail?: string | undefined },
    ) =>
      deps.onTlsOutcome?.({
        policyDomain: domain,
        policyType: policy.policyType,
        policyStrings: policy.policyStrings,
        mxHostPatterns: policy.mxHostPatterns,
        mxHost: host,
        sendingIp: deps.smtp.localAddress,
        receivingIp: address,
        result: result.resultType,
        failureDetail: result.detail,
      });
    for (const address of addresses.list) {
      if (waiting.length === 0) break;
      let session: OutboundSession;
      try {
        session = await openSmtpSession({ host, address, port: deps.port }, deps.smtp, plan.requirement);
      } catch (err) {
        const failure = err instanceof ConnectionFailure ? err : undefined;
        if (failure?.tlsResult) report(address, failure.tlsResult);
        const refusal =
          failure && plan.requireTlsParameter === 'always' ? requireTlsRefusal(failure) : undefined;
        lastFailure = {
          reply:
            refusal?.reply ?? failure?.reply ?? `connect to ${host}[${address}]: ${(err as Error).message}`,
          statusCode: refusal?.statusCode ?? failure?.enhanced ?? '4.4.1',
          host,
          address,
        };
        if (!failure?.permanent && !refusal) everyHostRefusedForGood = false;
        continue;
      }
      report(address, session.tlsResult);
      deps.onConnection?.(domain, 1);
      try {
        const requireTls =
          plan.requireTlsParameter === 'always' ||
          (plan.requireTlsParameter === 'if-offered' &&
            session.secure &&
            session.extensions.includes('REQUIRETLS'));
        waiting = await sendGroups(session, entry, waiting, outbound, outcomes, host, address, requireTls);
      } catch (err) {
        // The connection broke mid-way: whoever has no answer yet tries the next address.
        const failure = err instanceof ConnectionFailure ? err : undefined;
        lastFailure = {
          reply: failure?.reply ?? `lost connection with ${host}[${address}]: ${(err as Error).message}`,
          statusCode: failure?.enhanced ?? '4.4.2',
          host,
          address,
        };
        everyHostRefusedForGood = false;
      } finally {
        session.close();
        deps.onConnection?.(domain, -1);
      }
    }
  }
  // RFC 5321 §5.1: give up for now when no host took the mail; a 5xx greeting from every
  // host is as final an answer as a 5xx to RCPT.
  const kind = everyHostRefusedForGood ? 'bounced' : 'deferred';
  for (const delivery of waiting) {
    outcomes.push({
      kind,
      delivery,
      reply: lastFailure.reply,
      statusCode: lastFailure.statusCode,
      mxHost: lastFailure.host || undefined,
      address: lastFailure.address || undefined,
    });
  }
  return outcomes;
}

/**
 * RCPT parameters are per transaction in the client, so recipients with different DSN
 * NOTIFY/ORCPT, or a different sender or copy of the message, go in separate transactions
 * over the same connection. Returns the recipients still without an answer (none, unless
 * the connection breaks).
 */
async function sendGroups(
  session: OutboundSession,
  entry: QueueEntry,
  waiting: readonly DueDelivery[],
  outbound: (d: DueDelivery) => Outbound,
  outcomes: RemoteOutcome[],
  host: string,
  address: string,
  requireTls: boolean,
): Promise<DueDelivery[]> {
  const groups = new Map<string, DueDelivery[]>();
  const copies = new Map<Buffer, number>();
  for (const d of waiting) {
    const { sender, message } = outbound(d);
    if (!copies.has(message)) copies.set(message, copies.size);
    const key = JSON.stringify([d.notify, d.orcpt, sender, copies.get(message)]);
    groups.set(key, [...(groups.get(key) ?? []), d]);
  }
  const left = new Set(waiting);
  for (const group of groups.values()) {
    const first = group[0]!;
    const { sender, message } = outbound(first);
    const replies: RecipientReply[] = await session.send(
      {
        sender,
        recipients: group.map((d) => d.recipient),
        size: message.length,
        ret: entry.dsnRet,
        envid: entry.dsnEnvid,
        notify: first.notify,
        orcpt: first.orcpt,
        requireTls,
      },
      message,
    );
    const byRecipient = new Map(replies.map((r) => [r.recipient, r]));
    for (const delivery of group) {
      const reply = byRecipient.get(delivery.recipient);
      if (!reply) continue;
      left.delete(delivery);
      outcomes.push({
        kind: reply.kind === 2 ? 'relayed' : reply.kind === 5 ? 'bounced' : 'deferred',
        delivery,
        reply: `${host}[${address}] said: ${reply.reply}`,
        statusCode: reply.enhanced,
        mxHost: host,
        address,
        peerReportsDsn: session.supportsDsn && delivery.notify !== null,
      });
    }
  }
  return [...left];
}

async function resolveAddresses(
  deps: RemoteDeliveryDeps,
  host: string,
): Promise<{ ok: true; list: string[] } | { ok: false; reply: string }> {
  try {
    const answer = await deps.resolver.resolveAddresses(host);
    if (answer.status === ResolveStatus.RESOLVE_STATUS_OK && answer.addresses.length > 0) {
      return { ok: true, list: answer.addresses.map((a) => a.address) };
    }
    return {
      ok: false,
      reply: `no address for MX host ${host}: ${ResolveStatus[answer.status]} ${answer.detail}`,
    };
  } catch (err) {
    return { ok: false, reply: `lookup of ${host} failed: ${(err as Error).message}` };
  }
}
