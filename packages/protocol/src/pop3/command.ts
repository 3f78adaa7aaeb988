// POP3 command lines (RFC 1939 §3): a keyword of 3-4 characters, case-insensitive, and
// arguments separated by single spaces. PASS takes the rest of the line whole, since a
// password may contain spaces (RFC 1939 §7 lets servers allow it). Which keywords are
// commands is the table's to say (commands/table.ts).

export interface Pop3CommandLine {
  /** Upper-cased keyword, not yet known to be a command. */
  readonly keyword: string;
  readonly args: readonly string[];
  /** Everything after the keyword and one space, as sent (USER, PASS). */
  readonly rest: string;
}

export function parsePop3Command(line: string): Pop3CommandLine | undefined {
  const match = /^([A-Za-z]{3,4})(?: (.*))?$/.exec(line);
  if (!match) return undefined;
  const keyword = match[1]!.toUpperCase();
  const rest = match[2] ?? '';
  const args = rest === '' ? [] : rest.split(' ');
  return { keyword, args, rest };
}

/** A message number argument: decimal, 1 or more, no sign or leading junk. */
export function parseMessageNumber(text: string | undefined): number | undefined {
  if (text === undefined || !/^[1-9]\d{0,9}$/.test(text)) return undefined;
  return Number(text);
}
