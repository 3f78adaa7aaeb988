// What the chaos run's clients write down (issue 21 §1). The invariants are checked from
// these records, the clients' own view of what the system promised them, against what
// the store holds when the run is over.

import type { Random } from './random.js';

/**
 * How a request ended for the client: `ok` is the promise (250 after DATA, a tagged OK);
 * `refused` a clear answer that it was not done (4xx/5xx, NO, BAD, -ERR); `unknown` the
 * connection died before any answer, so it may or may not have happened.
 */
export type Outcome = 'ok' | 'refused' | 'unknown';

export interface SmtpRecord {
  /** The message's X-Chaos-Id header, unique per attempt (a retry is a new id). */
  readonly id: string;
  readonly listener: 'mx' | 'submission';
  readonly sender: string;
  /** The RCPTs that got 250 (the only ones the message can go to). */
  readonly recipients: readonly string[];
  readonly outcome: Outcome;
  /** The reply after the data (or the error), for the report. */
  readonly reply: string;
  readonly at: number;
}

export interface ImapAppendRecord {
  readonly user: string;
  readonly mailbox: string;
  /** X-Chaos-Id of the appended message. */
  readonly id: string;
  readonly outcome: Outcome;
  readonly at: number;
}

/** An EXPUNGE (or UID EXPUNGE) of messages the client had marked \Deleted. */
export interface ImapExpungeRecord {
  readonly user: string;
  readonly mailbox: string;
  /** X-Chaos-Ids of the messages the command meant to remove. */
  readonly ids: readonly string[];
  readonly outcome: Outcome;
  readonly at: number;
}

/** A MOVE or COPY of messages by X-Chaos-Id. */
export interface ImapTransferRecord {
  readonly user: string;
  readonly command: 'MOVE' | 'COPY';
  readonly from: string;
  readonly to: string;
  readonly ids: readonly string[];
  readonly outcome: Outcome;
  readonly at: number;
}

/**
 * What one response said a mailbox's state was: from SELECT/EXAMINE (UIDVALIDITY,
 * UIDNEXT, HIGHESTMODSEQ) or STATUS. `start` is when the command was sent, `end` when
 * its tagged OK came, so an observation that started after another ended must not be lower.
 */
export interface ImapStateObservation {
  readonly user: string;
  readonly mailbox: string;
  readonly uidValidity: number;
  readonly uidNext: number;
  /** 0 when the response had none. */
  readonly highestModseq: bigint;
  readonly start: number;
  readonly end: number;
}

/** A FETCH that showed the message with this X-Chaos-Id at this UID. */
export interface ImapUidObservation {
  readonly user: string;
  readonly mailbox: string;
  readonly uidValidity: number;
  readonly uid: number;
  readonly id: string;
}

/** A session's own picture of its selected mailbox, built from untagged responses only. */
export interface ImapSessionView {
  readonly user: string;
  readonly mailbox: string;
  readonly uidValidity: number;
  /** In sequence order. */
  readonly uids: readonly number[];
  /** Flags by UID, as the session last heard them (sorted). */
  readonly flags: ReadonlyMap<number, readonly string[]>;
  readonly at: number;
}

export interface PopSessionRecord {
  readonly user: string;
  /** The UIDL list right after login (undefined when the login failed). */
  readonly uidlsAtLogin: readonly string[] | undefined;
  /** Messages retrieved, with the X-Chaos-Id their header carried. */
  readonly retrieved: readonly { readonly uidl: string; readonly id: string }[];
  /** UIDLs marked with DELE (+OK). */
  readonly deleted: readonly string[];
  /** `ok`: QUIT got +OK; `refused`: -ERR; `unknown`: the connection died (or QUIT never sent). */
  readonly quit: Outcome;
  readonly start: number;
  readonly end: number;
}

export interface ChaosRecords {
  readonly smtp: SmtpRecord[];
  readonly appends: ImapAppendRecord[];
  readonly expunges: ImapExpungeRecord[];
  readonly transfers: ImapTransferRecord[];
  readonly states: ImapStateObservation[];
  readonly uids: ImapUidObservation[];
  readonly views: ImapSessionView[];
  readonly pop: PopSessionRecord[];
}

export function emptyRecords(): ChaosRecords {
  return { smtp: [], appends: [], expunges: [], transfers: [], states: [], uids: [], views: [], pop: [] };
}

/** What a load generator is given. */
export interface LoadContext {
  readonly random: Random;
  /** The loopback address every Tegami listener of the run is on. */
  readonly host: string;
  readonly domain: string;
  /** Ports of the live replicas (a killed one refuses connections until it is back). */
  readonly ports: {
    readonly mx: readonly number[];
    readonly submission: readonly number[];
    readonly imap: readonly number[];
    readonly pop: readonly number[];
  };
  /** Every account's password is this. */
  readonly password: string;
  readonly records: ChaosRecords;
  /** True once the load should wind down (finish or abandon the current step, then return). */
  stopping(): boolean;
  log(line: string): void;
}
