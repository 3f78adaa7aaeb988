import type { Logger } from './logger.js';

/**
 * The events that fail2ban (deploy/fail2ban/) and log searches key on: one JSON line each,
 * at level info, through the service's logger, in a format that stays stable:
 *
 *   {"level":"info","time":"…","service":"imap-gateway","event":"auth_failed","client":"203.0.113.7",
 *    "protocol":"imap","mechanism":"PLAIN","user":"alice@example.com","msg":"authentication failed"}
 *
 * (one line; in the standalone `"service":"standalone","component":"imap-gateway"`). `event`
 * and then `client` come right after the logger's own fields, before anything the client
 * chose (user names, envelope addresses), and pino escapes `"` and control characters in
 * strings: a hostile user name cannot put a `"client":"…"` of its own where a filter looks.
 * Do not rename or reorder these fields; add new ones at the end.
 */
export type LoginProtocol = 'smtp' | 'pop3' | 'imap' | 'managesieve';

/** A client-chosen text in a log line: long enough for any address, not for a flood. */
const MAX_CLIENT_TEXT = 320;

function clip(text: string): string {
  return text.length > MAX_CLIENT_TEXT ? `${text.slice(0, MAX_CLIENT_TEXT)}…` : text;
}

/**
 * A login that failed: wrong password or unknown user (never told apart, here either),
 * or SASL data the server could not accept. `mechanism` is the SASL mechanism, or USER
 * (POP3 USER/PASS) or LOGIN (IMAP LOGIN); `user` is the name as the client gave it, absent
 * when the exchange failed before a name was read.
 */
export function logFailedLogin(
  logger: Logger,
  failure: {
    readonly client: string;
    readonly protocol: LoginProtocol;
    readonly mechanism: string;
    readonly user: string | undefined;
  },
): void {
  logger.info(
    {
      event: 'auth_failed',
      client: failure.client,
      protocol: failure.protocol,
      mechanism: failure.mechanism,
      ...(failure.user !== undefined && { user: clip(failure.user) }),
    },
    'authentication failed',
  );
}

/** A login refused unchecked: too many attempts queued on that name (the per-account delay). */
export function logThrottledLogin(
  logger: Logger,
  refusal: { readonly client: string; readonly protocol: LoginProtocol; readonly user: string },
): void {
  logger.info(
    { event: 'auth_throttled', client: refusal.client, protocol: refusal.protocol, user: clip(refusal.user) },
    'login refused: too many attempts on this name, try again later',
  );
}

export interface RecipientRefusal {
  readonly client: string;
  /** The SMTP listener: mx, submission, submissions. */
  readonly listener: string;
  /** The reply code the client got (550, 554). */
  readonly code: number;
  /** The envelope sender as given (empty for the null sender `<>`). */
  readonly from: string;
  /** The recipient as given. */
  readonly to: string;
}

/** RCPT TO refused because no such user or alias exists in a local domain. */
export function logUnknownRecipient(logger: Logger, refusal: RecipientRefusal): void {
  logger.info(
    {
      event: 'rcpt_refused',
      client: refusal.client,
      listener: refusal.listener,
      code: refusal.code,
      reason: 'unknown-user',
      from: clip(refusal.from),
      to: clip(refusal.to),
    },
    'recipient refused: user unknown',
  );
}

/** RCPT TO a domain that is not ours, from a client not allowed to relay. */
export function logRelayDenied(logger: Logger, refusal: RecipientRefusal): void {
  logger.info(
    {
      event: 'relay_denied',
      client: refusal.client,
      listener: refusal.listener,
      code: refusal.code,
      from: clip(refusal.from),
      to: clip(refusal.to),
    },
    'relay access denied',
  );
}

/** The port-25 connection checks of smtp-ingress (TEGAMI_SMTP_DNSBL and the rest). */
export type ConnectionCheck = 'dnsbl' | 'reverse_dns' | 'helo';

export interface ClientRefusal {
  readonly client: string;
  readonly listener: string;
  readonly check: ConnectionCheck;
  /** The reply code the client got (554, 550, 450). */
  readonly code: number;
  /** dnsbl: the zone that lists the client. */
  readonly zone?: string;
  /** helo: the HELO/EHLO argument; reverse_dns: the PTR names that did not lead back. */
  readonly name?: string;
  /** The envelope sender and the recipient refused (the checks answer at RCPT TO). */
  readonly from: string;
  readonly to: string;
}

/**
 * A recipient refused because of who the client is rather than what it asked for: listed in
 * a DNS blocklist, without forward-confirmed reverse DNS, or with a bogus HELO name. Its own
 * event, not `rcpt_refused`: the tegami-smtp fail2ban filter counts address harvesting and
 * relay attempts, and a listed client is already refused without a ban.
 */
export function logClientRefused(logger: Logger, refusal: ClientRefusal): void {
  logger.info(
    {
      event: 'client_refused',
      client: refusal.client,
      listener: refusal.listener,
      check: refusal.check,
      code: refusal.code,
      ...(refusal.zone !== undefined && { zone: refusal.zone }),
      ...(refusal.name !== undefined && { name: clip(refusal.name) }),
      from: clip(refusal.from),
      to: clip(refusal.to),
    },
    `client refused by the ${refusal.check.replace('_', ' ')} check`,
  );
}
