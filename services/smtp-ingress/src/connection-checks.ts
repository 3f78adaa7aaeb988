import type { MailboxPath, SmtpClientInfo, SmtpReply } from '@tegami/protocol';
import type { ResolverClient } from '@tegami/rpc';
import { type ConnectionCheck, type Logger, logClientRefused } from '@tegami/runtime';
import { isLoopbackAddress } from './client-address.js';
import { dnsblRefusal, lookupDnsbl } from './dnsbl.js';
import { checkHelo, type HeloResult, heloRefusal } from './helo-check.js';
import type { SmtpMetrics } from './metrics.js';
import { confirmReverseName, reverseDnsRefusal } from './reverse-dns.js';

// Checks of who a port-25 client is (never of submission clients, who authenticate): DNS
// blocklists, forward-confirmed reverse DNS, and the HELO name. All off unless the operator
// turns them on; every lookup goes through the dns-resolver.
//
// When the verdict is given: the lookups start as soon as their input is known (the DNSBL
// and reverse DNS at connect, while the greeting goes out; the HELO name when it arrives),
// and a refusal is the answer to each RCPT TO, as Postfix does by default
// (smtpd_delay_reject, reject_rbl_client in smtpd_recipient_restrictions) rather than a 554
// greeting followed by 503 to everything (RFC 5321 §3.1):
// - the client's MTA records the refusal against each recipient and puts our reason in the
//   bounce its sender gets: clients often take a 554 greeting for a passing fault of this
//   host and retry, or try the next MX, without telling anyone;
// - postmaster@ our domains still gets mail from a refused client, as RFC 5321 §4.5.1 asks:
//   the way for a wrongly listed sender to reach us;
// - the log line names the sender and recipient, and the lookups' latency hides behind the
//   greeting, EHLO and MAIL exchange instead of delaying the banner.

export interface ConnectionCheckSettings {
  /** TEGAMI_SMTP_DNSBL: zones asked in order; the first that lists the client is named. */
  readonly dnsblZones: readonly string[];
  /** TEGAMI_SMTP_REQUIRE_REVERSE_DNS */
  readonly requireReverseDns: boolean;
  /** TEGAMI_SMTP_HELO_CHECKS */
  readonly heloChecks: boolean;
  /**
   * How long the lookups of one check may take together. Past it, a DNSBL lets the client
   * through (a blocklist that does not answer never refuses mail) and the reverse DNS and HELO
   * checks answer 450 (the client tries again later). Default DEFAULT_CHECK_TIMEOUT_MS.
   */
  readonly lookupTimeoutMs?: number;
}

export const NO_CONNECTION_CHECKS: ConnectionCheckSettings = {
  dnsblZones: [],
  requireReverseDns: false,
  heloChecks: false,
};

export const DEFAULT_CHECK_TIMEOUT_MS = 5_000;

/**
 * Distinct HELO/EHLO names looked up per connection. A real MTA gives one (again after
 * STARTTLS); a client cycling through names must not turn one connection into a stream of
 * DNS queries, so a name past these is refused unlooked-up.
 */
export const MAX_HELO_NAMES = 4;

/** A warning about a misbehaving DNSBL is repeated at most this often per zone. */
const DNSBL_WARNING_INTERVAL_MS = 10 * 60_000;

export function anyConnectionCheck(settings: ConnectionCheckSettings): boolean {
  return settings.dnsblZones.length > 0 || settings.requireReverseDns || settings.heloChecks;
}

export interface ConnectionCheckerDeps {
  readonly settings: ConnectionCheckSettings;
  readonly resolver: ResolverClient;
  readonly metrics: SmtpMetrics;
  readonly logger: Logger;
  /** This server's host name and local domains, for the HELO check. */
  readonly ownNames: () => readonly string[];
}

/** One check's refusal, kept until a recipient it applies to comes. */
interface Refusal {
  readonly check: ConnectionCheck;
  readonly reply: SmtpReply;
  readonly zone?: string;
  readonly name?: string;
}

/**
 * The checker for port 25 from the ingress's settings, or undefined when no check is on.
 * A check without a resolver to ask is a wiring mistake: it fails the start.
 */
export function createConnectionChecker(
  deps: {
    readonly connectionChecks?: ConnectionCheckSettings;
    readonly resolver?: ResolverClient;
    readonly logger: Logger;
    readonly hostname: string;
  },
  metrics: SmtpMetrics,
  localDomains: () => readonly string[],
): ConnectionChecker | undefined {
  const settings = deps.connectionChecks ?? NO_CONNECTION_CHECKS;
  if (!anyConnectionCheck(settings)) return undefined;
  if (!deps.resolver) throw new Error('SMTP connection checks are on, but no dns-resolver client was given');
  deps.logger.info(
    {
      dnsbl: settings.dnsblZones,
      requireReverseDns: settings.requireReverseDns,
      heloChecks: settings.heloChecks,
    },
    'port-25 connection checks on',
  );
  return new ConnectionChecker({
    settings,
    resolver: deps.resolver,
    metrics,
    logger: deps.logger,
    ownNames: () => [deps.hostname, ...localDomains()],
  });
}

/** The checks of port 25, shared by its connections. */
export class ConnectionChecker {
  private readonly warnedAt = new Map<string, number>();

  constructor(private readonly deps: ConnectionCheckerDeps) {}

  /**
   * Starts the lookups for a new client; undefined when there is nothing to check. A client
   * on this host (127.0.0.0/8, ::1) is never checked: it is a local program, and blocklists
   * list 127.0.0.2 on purpose (RFC 5782 §5, the test entry). Behind a load balancer that
   * speaks the PROXY protocol the address is the one the header carries.
   * `exempt` is asked once, only when a refusal is due: a client relaying by a
   * POP-before-SMTP grant is a user of ours, whatever a list of dial-up ranges says.
   */
  forClient(address: string, listener: string, exempt: () => Promise<boolean>): ClientChecks | undefined {
    if (!anyConnectionCheck(this.deps.settings) || isLoopbackAddress(address)) return undefined;
    return new ClientChecks(this.deps, address, listener, exempt, (zone, detail) =>
      this.warnAboutZone(zone, detail),
    );
  }

  private warnAboutZone(zone: string, detail: string): void {
    const now = Date.now();
    if (now - (this.warnedAt.get(zone) ?? -Infinity) < DNSBL_WARNING_INTERVAL_MS) return;
    this.warnedAt.set(zone, now);
    this.deps.logger.warn({ zone, detail }, 'DNSBL gave no verdict: clients are let through');
  }
}

/** The checks of one connection: lookups in flight, and the refusal they come to. */
export class ClientChecks {
  private readonly aborted = new AbortController();
  private readonly timeoutMs: number;
  private readonly dnsbl: Promise<Refusal | undefined> | undefined;
  private readonly reverseDns: Promise<Refusal | undefined> | undefined;
  private readonly helos = new Map<string, Promise<Refusal | undefined>>();
  private confirmedName: string | undefined;
  private exemption: Promise<boolean> | undefined;

  constructor(
    private readonly deps: ConnectionCheckerDeps,
    private readonly address: string,
    private readonly listener: string,
    private readonly exempt: () => Promise<boolean>,
    private readonly warnAboutZone: (zone: string, detail: string) => void,
  ) {
    this.timeoutMs = deps.settings.lookupTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
    if (deps.settings.dnsblZones.length > 0) this.dnsbl = this.settled('dnsbl', this.checkDnsbl());
    if (deps.settings.requireReverseDns)
      this.reverseDns = this.settled('reverse_dns', this.checkReverseDns());
  }

  /** The client's forward-confirmed reverse DNS name, once the check has confirmed one. */
  get reverseName(): string | undefined {
    return this.confirmedName;
  }

  /** Starts checking a HELO/EHLO name (once per name). */
  heloReceived(helo: string): void {
    if (!this.deps.settings.heloChecks || this.helos.has(helo)) return;
    const checking =
      this.helos.size < MAX_HELO_NAMES
        ? this.checkHelo(helo)
        : Promise.resolve(this.heloChecked(helo, { kind: 'refused', reason: 'too-many-names' }));
    this.helos.set(helo, this.settled('helo', checking));
  }

  /**
   * The answer to RCPT TO `to` when a check refuses the client (logged), or undefined. Waits
   * for lookups still in flight, each within its deadline. A permanent refusal wins over a
   * temporary one: retrying would only meet it later.
   */
  async refusalFor(client: SmtpClientInfo, from: string, to: MailboxPath): Promise<SmtpReply | undefined> {
    // RFC 5321 §4.5.1: mail to postmaster is accepted from anyone; the relay policy still
    // refuses postmaster@ a domain that is not ours.
    if (to.mailbox.localPart.toLowerCase() === 'postmaster') return undefined;
    if (client.helo !== undefined) this.heloReceived(client.helo);
    const helo = client.helo === undefined ? undefined : this.helos.get(client.helo);
    const refusals = (await Promise.all([this.dnsbl, this.reverseDns, helo])).filter(
      (r): r is Refusal => r !== undefined,
    );
    const refusal = refusals.find((r) => r.reply.code >= 500) ?? refusals[0];
    if (!refusal) return undefined;
    this.exemption ??= this.exempt().catch(() => false);
    if (await this.exemption) return undefined;
    logClientRefused(this.deps.logger, {
      client: this.address,
      listener: this.listener,
      check: refusal.check,
      code: refusal.reply.code,
      ...(refusal.zone !== undefined && { zone: refusal.zone }),
      ...(refusal.name !== undefined && { name: refusal.name }),
      from,
      to: `${to.mailbox.localPart}@${to.mailbox.domain}`,
    });
    return refusal.reply;
  }

  /** The connection is over: lookups still in flight are cancelled. */
  close(): void {
    this.aborted.abort();
  }

  private async checkDnsbl(): Promise<Checked> {
    const deadlineAt = Date.now() + this.timeoutMs;
    const { resolver, settings } = this.deps;
    const results = await Promise.all(
      settings.dnsblZones.map((zone) =>
        lookupDnsbl(resolver, this.address, zone, deadlineAt, this.aborted.signal),
      ),
    );
    const listed = results.find((r) => r.kind === 'listed');
    if (listed) {
      return {
        result: 'listed',
        refusal: {
          check: 'dnsbl',
          reply: dnsblRefusal(this.address, listed.zone, listed.text),
          zone: listed.zone,
        },
      };
    }
    const failures = results.filter((r) => r.kind === 'failed');
    if (!this.aborted.signal.aborted) for (const f of failures) this.warnAboutZone(f.zone, f.detail);
    return { result: failures.length > 0 ? 'error' : 'pass' };
  }

  private async checkReverseDns(): Promise<Checked> {
    const deadlineAt = Date.now() + this.timeoutMs;
    const result = await confirmReverseName(
      this.deps.resolver,
      this.address,
      deadlineAt,
      this.aborted.signal,
    );
    const reply = reverseDnsRefusal(result, this.address);
    if (result.kind === 'confirmed') this.confirmedName = result.name;
    if (!reply) return { result: 'pass' };
    const names = result.kind === 'unconfirmed' ? result.names.join(',') : undefined;
    return {
      result: reply.code >= 500 ? 'refused' : 'tempfail',
      refusal: { check: 'reverse_dns', reply, ...(names && { name: names }) },
    };
  }

  private async checkHelo(helo: string): Promise<Checked> {
    const deadlineAt = Date.now() + this.timeoutMs;
    const result = await checkHelo(
      this.deps.resolver,
      helo,
      this.deps.ownNames(),
      deadlineAt,
      this.aborted.signal,
    );
    return this.heloChecked(helo, result);
  }

  private heloChecked(helo: string, result: HeloResult): Checked {
    const reply = heloRefusal(helo, result);
    if (!reply) return { result: 'pass' };
    return {
      result: reply.code >= 500 ? 'refused' : 'tempfail',
      refusal: { check: 'helo', reply, name: helo },
    };
  }

  /**
   * Counts a check's outcome (not for a connection that closed first: its lookups were
   * cancelled, not failed) and keeps its refusal. A bug in a check lets the client through:
   * the checks are a filter in front of the mail, never a reason to lose it.
   */
  private settled(check: ConnectionCheck, checking: Promise<Checked>): Promise<Refusal | undefined> {
    return checking.then(
      ({ result, refusal }) => {
        if (!this.aborted.signal.aborted) this.deps.metrics.connectionChecks.inc({ check, result });
        return refusal;
      },
      (err: unknown) => {
        this.deps.metrics.connectionChecks.inc({ check, result: 'error' });
        this.deps.logger.error({ err, check, client: this.address }, 'connection check failed');
        return undefined;
      },
    );
  }
}

interface Checked {
  readonly result: 'pass' | 'listed' | 'refused' | 'tempfail' | 'error';
  readonly refusal?: Refusal;
}
