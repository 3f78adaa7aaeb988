// How big one IMAP command may be, before and after login, and how a command over a limit
// is answered (issue 13: memory before login).
//
// Before login a client may only say CAPABILITY, NOOP, ID, STARTTLS, LOGIN, AUTHENTICATE
// and LOGOUT, none of which needs much: the SASL engine takes at most 4096 octets of
// credentials (5464 in base64 with its command words around them), LOGIN is PLAIN by
// another name with the same 4096, and an ID list of real clients is a few hundred octets.
// 8 KiB is Dovecot's imap-login limit too (MAX_IMAP_LINE). After login every command but
// APPEND keeps Dovecot's 64 KiB (imap_max_line_length), literals included; APPEND may carry
// messages of up to APPENDLIMIT each, plus the same 64 KiB for the rest of it, and the
// whole command (every message of a MULTIAPPEND, RFC 3502, and every TEXT part of a
// CATENATE, RFC 4469, together) is held to APPENDLIMIT + 64 KiB: the most one session's
// command holds in memory stays what one APPEND held. REPLACE and UID REPLACE (RFC 8508)
// carry one message and are held to the same.
//
// Before login LITERAL- is advertised instead of LITERAL+ (RFC 7888 §4; IMAP4rev2 has it
// built in, RFC 9051 §4.3): a non-synchronising literal holds 4096 octets at most.

import type { CommandReaderLimits, ReaderEvent } from './command-reader.js';

export const LOGIN_COMMAND_BYTES = 8_192;
export const COMMAND_BYTES = 65_536;
const LITERAL_MINUS_BYTES = 4_096;

export function loginReaderLimits(maxCommandBytes = LOGIN_COMMAND_BYTES): CommandReaderLimits {
  // ID's list (RFC 2971: at most 30 field-value pairs) is the most a command here holds.
  return { maxCommandBytes, maxNonSyncLiteral: LITERAL_MINUS_BYTES, maxDepth: 4, maxTokens: 128 };
}

export function sessionReaderLimits(
  appendLimit: number,
  maxCommandBytes = COMMAND_BYTES,
): CommandReaderLimits {
  return { maxCommandBytes, maxAppendBytes: appendLimit + maxCommandBytes, maxDepth: 32, maxTokens: 16_384 };
}

type LiteralEvent = ReaderEvent & { kind: 'literal' };

/** The tagged answer to a literal that is refused, or undefined to take it. */
export function literalRefusal(
  event: LiteralEvent,
  loggedIn: boolean,
  appendLimit: number,
): string | undefined {
  if (event.message) {
    if (!loggedIn) return `${event.tag} NO log in first`;
    if (event.size > appendLimit)
      return `${event.tag} NO [TOOBIG] the message is larger than ${appendLimit} octets`;
    // A MULTIAPPEND past the command's total: each message fits, all of them do not.
    if (event.over?.rule === 'command-size' && event.index > 0)
      return `${event.tag} NO [TOOBIG] the messages of one command may hold ${event.over.limit} octets together`;
  }
  if (!event.over) return undefined;
  return event.over.rule === 'literal-minus'
    ? `${event.tag} BAD [TOOBIG] a non-synchronizing literal holds at most ${event.over.limit} octets here (LITERAL-)`
    : tooLong(event.tag, event.over.limit);
}

/** A command over its size limit (RFC 9051 §7.1: TOOBIG). */
export function tooLong(tag: string | undefined, limit: number): string {
  return `${tag ?? '*'} BAD [TOOBIG] the command is larger than ${limit} octets`;
}

/**
 * Before login, over-limit octets that are already on their way (a line too long, a
 * non-synchronising literal too big) are not read and thrown away: the client is shown
 * the door, as Dovecot's imap-login does. A synchronising literal is refused before it is
 * sent, so the session goes on after that.
 */
export const LOGIN_TOO_BIG_BYE = '* BYE too much input before login\r\n';
