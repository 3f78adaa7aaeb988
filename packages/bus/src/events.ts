import { isValidAccountId } from './subjects.js';

// What travels on the bus, and the checks that keep a malformed message from the wire
// from reaching a handler: the bus trusts nothing it receives (see ARCHITECTURE.md).

/**
 * One accepted message waiting for delivery. It only points at the Postgres queue row,
 * which holds the sender, the recipients and the blob: the bus never carries mail.
 */
export interface DeliveryJob {
  readonly queueId: string;
  /** ISO 8601 time the message was accepted. */
  readonly enqueuedAt: string;
}

/**
 * 'created', 'deleted', 'renamed' and 'subscription' are changes of the account's list of
 * mailboxes (IMAP NOTIFY's MailboxName and SubscriptionChange, RFC 5465 §5.4–5.5): they
 * carry the mailbox's name, since the row may be gone by the time a replica reads.
 */
export type MailboxChangeKind =
  | 'exists'
  | 'expunge'
  | 'flags'
  | 'mailbox'
  | 'created'
  | 'deleted'
  | 'renamed'
  | 'subscription';

/** Something changed in a mailbox; IMAP replicas turn it into untagged responses. */
export interface MailboxChanged {
  readonly accountId: string;
  readonly mailboxId: string;
  readonly kind: MailboxChangeKind;
  readonly uids?: readonly number[];
  /** The mailbox's new HIGHESTMODSEQ: a bigint, so a decimal string. */
  readonly modseq?: string;
  /** The mailbox's name (after a rename: the new one), Unicode with '/' between levels. */
  readonly name?: string;
  /** 'renamed': the name it had. */
  readonly oldName?: string;
  /** 'subscription': whether the name is subscribed now. */
  readonly subscribed?: boolean;
  /** Which session made the change (opaque), so that session can tell its own echo. */
  readonly origin?: string;
}

export type Decoded<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };

export class InvalidEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidEventError';
  }
}

const KINDS: ReadonlySet<string> = new Set<MailboxChangeKind>([
  'exists',
  'expunge',
  'flags',
  'mailbox',
  'created',
  'deleted',
  'renamed',
  'subscription',
]);
/** Longer than any name the store takes (mailboxNameProblem), short enough for one NATS message. */
const MAX_NAME_LENGTH = 4096;
const ORIGIN_PATTERN = /^[\x21-\x7e]{1,64}$/;
// The queue id becomes the Nats-Msg-Id header: printable, no whitespace (no CR/LF).
const QUEUE_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;
const ISO_TIME_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const MODSEQ_PATTERN = /^(0|[1-9]\d{0,19})$/;
const MAX_UID = 0xffff_ffff;
const MAX_UIDS = 100_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function validateDeliveryJob(input: unknown): Decoded<DeliveryJob> {
  if (!isRecord(input)) return fail('a delivery job must be a JSON object');
  const { queueId, enqueuedAt } = input;
  if (typeof queueId !== 'string' || !QUEUE_ID_PATTERN.test(queueId)) {
    return fail('queueId must be 1-128 printable characters without spaces');
  }
  if (
    typeof enqueuedAt !== 'string' ||
    !ISO_TIME_PATTERN.test(enqueuedAt) ||
    Number.isNaN(Date.parse(enqueuedAt))
  ) {
    return fail('enqueuedAt must be an ISO 8601 time');
  }
  // Only the known fields go on: an unknown field from a newer sender is ignored, not kept.
  return { ok: true, value: { queueId, enqueuedAt } };
}

export function validateMailboxChanged(input: unknown): Decoded<MailboxChanged> {
  if (!isRecord(input)) return fail('a mailbox event must be a JSON object');
  const { accountId, mailboxId, kind, uids, modseq, name, oldName, subscribed, origin } = input;
  if (typeof accountId !== 'string' || !isValidAccountId(accountId)) {
    return fail('accountId must be a subject token (no ".", "*", ">" or whitespace)');
  }
  if (typeof mailboxId !== 'string' || mailboxId.length === 0 || mailboxId.length > 128) {
    return fail('mailboxId must be a non-empty string');
  }
  if (typeof kind !== 'string' || !KINDS.has(kind)) {
    return fail(`kind must be one of ${[...KINDS].join(', ')}`);
  }
  const event: { -readonly [K in keyof MailboxChanged]: MailboxChanged[K] } = {
    accountId,
    mailboxId,
    kind: kind as MailboxChangeKind,
  };
  if (uids !== undefined) {
    if (!Array.isArray(uids) || uids.length > MAX_UIDS || !uids.every(isUid)) {
      return fail('uids must be an array of UIDs (1 to 2^32-1)');
    }
    event.uids = [...uids];
  }
  if (modseq !== undefined) {
    if (typeof modseq !== 'string' || !MODSEQ_PATTERN.test(modseq)) {
      return fail('modseq must be a decimal string');
    }
    event.modseq = modseq;
  }
  for (const [field, value] of [
    ['name', name],
    ['oldName', oldName],
  ] as const) {
    if (value === undefined) continue;
    if (typeof value !== 'string' || value.length === 0 || value.length > MAX_NAME_LENGTH) {
      return fail(`${field} must be a non-empty string of at most ${MAX_NAME_LENGTH} characters`);
    }
    event[field] = value;
  }
  if (subscribed !== undefined) {
    if (typeof subscribed !== 'boolean') return fail('subscribed must be a boolean');
    event.subscribed = subscribed;
  }
  if (origin !== undefined) {
    if (typeof origin !== 'string' || !ORIGIN_PATTERN.test(origin)) {
      return fail('origin must be 1-64 printable characters');
    }
    event.origin = origin;
  }
  return { ok: true, value: event };
}

/** Throws InvalidEventError: a bad job from our own code is a bug the caller must see. */
export function encodeDeliveryJob(job: DeliveryJob): Uint8Array {
  return encode(validateDeliveryJob(job));
}

export function encodeMailboxChanged(event: MailboxChanged): Uint8Array {
  return encode(validateMailboxChanged(event));
}

/** Never throws: the bytes came from the wire. */
export function decodeDeliveryJob(data: Uint8Array): Decoded<DeliveryJob> {
  const parsed = parseJson(data);
  return parsed.ok ? validateDeliveryJob(parsed.value) : parsed;
}

export function decodeMailboxChanged(data: Uint8Array): Decoded<MailboxChanged> {
  const parsed = parseJson(data);
  return parsed.ok ? validateMailboxChanged(parsed.value) : parsed;
}

function encode<T>(checked: Decoded<T>): Uint8Array {
  if (!checked.ok) throw new InvalidEventError(checked.reason);
  return encoder.encode(JSON.stringify(checked.value));
}

function parseJson(data: Uint8Array): Decoded<unknown> {
  try {
    return { ok: true, value: JSON.parse(decoder.decode(data)) };
  } catch (err) {
    return fail(`not UTF-8 JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isUid(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_UID;
}

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}
