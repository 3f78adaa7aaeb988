// The only place subject, stream and consumer names are spelled (no subject strings
// outside bus). Every name carries the prefix, so one NATS server can hold several
// installations, and parallel test files each use a prefix of their own.

export const DEFAULT_PREFIX = 'tegami';

// Lowercase only: the stream and consumer names upper-case the prefix, and two prefixes
// that differ in case alone would then share a stream. Letters, digits, '_' and '-' are
// valid in a subject token and in a stream name (which also forbids '/' and '\').
const PREFIX_PATTERN = /^[a-z][a-z0-9_-]{0,63}$/;

// A NATS subject token is any run of printable characters except the separator '.' and
// the wildcards '*' and '>'; whitespace would split the protocol line.
const TOKEN_PATTERN = /^[\x21-\x29\x2b-\x2d\x2f-\x3d\x3f-\x7e]{1,128}$/;

export class InvalidNameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidNameError';
  }
}

export function isValidPrefix(prefix: string): boolean {
  return PREFIX_PATTERN.test(prefix);
}

export function isValidAccountId(accountId: string): boolean {
  return TOKEN_PATTERN.test(accountId);
}

export function assertPrefix(prefix: string): string {
  if (!isValidPrefix(prefix)) {
    throw new InvalidNameError(
      `invalid bus prefix ${JSON.stringify(prefix)}: lowercase letter first, then up to 63 of a-z 0-9 _ -`,
    );
  }
  return prefix;
}

export function assertAccountId(accountId: string): string {
  if (!isValidAccountId(accountId)) {
    throw new InvalidNameError(
      `invalid account id ${JSON.stringify(accountId)} for a subject: no '.', '*', '>' or whitespace`,
    );
  }
  return accountId;
}

/** Every name the bus uses under one prefix. */
export interface BusNames {
  readonly prefix: string;
  /** The JetStream work-queue stream of delivery jobs (the architecture's MAIL_QUEUE). */
  readonly jobStream: string;
  /** The one subject that stream captures. */
  readonly jobSubject: string;
  /** The durable pull consumer all delivery workers share, so each job goes to one of them. */
  readonly jobConsumer: string;
  /** `<prefix>.mailbox.<accountId>.changed`, core pub/sub. */
  mailboxChanged(accountId: string): string;
}

export function busNames(prefix: string = DEFAULT_PREFIX): BusNames {
  assertPrefix(prefix);
  const upper = prefix.toUpperCase();
  return {
    prefix,
    jobStream: `${upper}_MAIL_QUEUE`,
    jobSubject: `${prefix}.queue.jobs`,
    jobConsumer: `${upper}_DELIVERY_WORKER`,
    mailboxChanged: (accountId) => `${prefix}.mailbox.${assertAccountId(accountId)}.changed`,
  };
}
