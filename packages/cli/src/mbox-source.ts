import { createReadStream } from 'node:fs';
import type { SourceMessage } from './mail-import.js';

// An mbox file (RFC 4155), mboxo or mboxrd, as `tegami import mbox` reads it: streamed, one
// message in memory at a time. Each message starts at a "From " line (the separator, not part
// of the message); the empty line before it ends the previous message. mboxrd writers quote
// every ">*From " line of a body with one more ">", mboxo writers only "From ": removing one
// ">" from ">+From " undoes both (an mboxo body line ">From " was then written as such by its
// author, and loses its ">": mboxo cannot tell them apart). Lines end CRLF in the store.

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * The date of a "From " line: `From sender Thu Jan  1 00:00:00 2020` (asctime, UTC), with a
 * zone before or after the year when a writer added one. Undefined when there is none.
 */
export function fromLineDate(line: string): Date | undefined {
  const match =
    /([A-Z][a-z]{2}) +(\d{1,2}) +(\d{1,2}):(\d\d)(?::(\d\d))?(?: +([A-Z]{1,5}|[+-]\d{4}))? +(\d{4})(?: +([+-]\d{4}))?/.exec(
      line,
    );
  if (!match) return undefined;
  const [, mon, day, hour, minute, second, zoneBefore, year, zoneAfter] = match;
  const month = MONTHS.indexOf(mon!);
  if (month < 0) return undefined;
  const zone = [zoneBefore, zoneAfter].find((z) => z !== undefined && /^[+-]\d{4}$/.test(z));
  const offset = zone
    ? (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3)))
    : 0;
  const utc = Date.UTC(Number(year), month, Number(day), Number(hour), Number(minute), Number(second ?? 0));
  return Number.isNaN(utc) ? undefined : new Date(utc - offset * 60_000);
}

/** Status: and X-Status: letters (as mutt and Thunderbird write them) as IMAP flags. */
const STATUS_LETTERS: Readonly<Record<string, string>> = {
  R: '\\Seen',
  A: '\\Answered',
  F: '\\Flagged',
  D: '\\Deleted',
  T: '\\Draft',
};

/** The flags of a message's Status: and X-Status: header fields; the fields stay in the message. */
export function statusFlags(lines: readonly Buffer[]): string[] {
  const flags = new Set<string>();
  for (const line of lines) {
    if (line.length === 0) break;
    const match = /^(?:x-)?status:\s*([A-Za-z]*)/i.exec(line.toString('latin1'));
    if (!match) continue;
    for (const letter of match[1]!) {
      const flag = STATUS_LETTERS[letter];
      if (flag) flags.add(flag);
    }
  }
  return [...flags];
}

const FROM = Buffer.from('From ');
const CRLF = Buffer.from('\r\n');
const QUOTED_FROM = /^>+From /;

function message(separator: string, lines: Buffer[]): SourceMessage {
  // The empty line before the next "From " (or at the end of the file) is the separator's.
  if (lines.length > 0 && lines.at(-1)!.length === 0) lines.pop();
  const parts: Buffer[] = [];
  for (const line of lines) parts.push(line, CRLF);
  return {
    raw: Buffer.concat(parts),
    flags: statusFlags(lines),
    internalDate: fromLineDate(separator) ?? new Date(),
  };
}

/** The messages of an mbox file, in order, read as a stream. */
export async function* readMbox(file: string): AsyncIterable<SourceMessage> {
  let separator: string | undefined;
  let lines: Buffer[] = [];
  let pending: Buffer = Buffer.alloc(0);
  const take = function* (line: Buffer): Iterable<SourceMessage> {
    // Line ends as CRLF or LF in the file: the line without them.
    const bare = line.at(-1) === 0x0d ? line.subarray(0, -1) : line;
    if (bare.subarray(0, 5).equals(FROM)) {
      if (separator !== undefined) yield message(separator, lines);
      separator = bare.toString('latin1');
      lines = [];
      return;
    }
    if (separator === undefined) {
      if (bare.length === 0) return;
      throw new Error(`${file} is not an mbox: it does not start with "From "`);
    }
    if (bare[0] === 0x3e && QUOTED_FROM.test(bare.subarray(0, 64).toString('latin1')))
      lines.push(bare.subarray(1));
    else lines.push(Buffer.from(bare));
  };
  for await (const chunk of createReadStream(file)) {
    let data = pending.length > 0 ? Buffer.concat([pending, chunk as Buffer]) : (chunk as Buffer);
    let newline = data.indexOf(0x0a);
    while (newline >= 0) {
      yield* take(data.subarray(0, newline));
      data = data.subarray(newline + 1);
      newline = data.indexOf(0x0a);
    }
    pending = Buffer.from(data);
  }
  if (pending.length > 0) yield* take(pending);
  if (separator !== undefined) yield message(separator, lines);
}
