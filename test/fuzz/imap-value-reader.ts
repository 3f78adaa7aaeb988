// Reads an IMAP value (RFC 9051 §4: lists, quoted strings, literals, NIL, numbers) the way
// a client reads a FETCH response, so the fuzz targets can check what the server writes by
// reading it back, not by looking for substrings. Strict: anything else is an error.

/** Octets that continue an atom: anything but SP, parentheses, quotes, braces and line ends. */
function isAtomChar(byte: number | undefined): boolean {
  return byte !== undefined && !' ()"{}\r\n'.includes(String.fromCharCode(byte));
}

export type ImapValue = string | number | null | ImapValue[];

const decoder = new TextDecoder('utf-8', { fatal: true });

/** The one value in `text` (written out as UTF-8); throws with the offset of a syntax error. */
export function readImapValue(text: string): ImapValue {
  const bytes = Buffer.from(text, 'utf8');
  let pos = 0;
  const fail = (why: string): never => {
    throw new Error(`invalid IMAP value at octet ${pos}: ${why}: ${JSON.stringify(text.slice(0, 200))}`);
  };

  function value(): ImapValue {
    const c = bytes[pos];
    if (c === 0x28) {
      pos++;
      const items: ImapValue[] = [];
      while (bytes[pos] !== 0x29) {
        if (pos >= bytes.length) fail('unterminated list');
        if (items.length > 0) {
          // Items are separated by one space, except that lists may follow each other.
          if (bytes[pos] === 0x20) pos++;
          else if (!(bytes[pos] === 0x28 && Array.isArray(items.at(-1)))) fail('no space between items');
        }
        items.push(value());
      }
      pos++;
      return items;
    }
    if (c === 0x22) {
      pos++;
      const out: number[] = [];
      while (bytes[pos] !== 0x22) {
        if (pos >= bytes.length) fail('unterminated quoted string');
        const b = bytes[pos]!;
        if (b === 0x0d || b === 0x0a || b === 0) fail('CR, LF or NUL in a quoted string');
        if (b === 0x5c) {
          const next = bytes[pos + 1];
          if (next !== 0x22 && next !== 0x5c) fail('backslash before neither " nor \\');
          out.push(next!);
          pos += 2;
          continue;
        }
        out.push(b);
        pos++;
      }
      pos++;
      try {
        return decoder.decode(Uint8Array.from(out));
      } catch {
        return fail('quoted string is not UTF-8');
      }
    }
    if (c === 0x7b) {
      const close = bytes.indexOf(0x7d, pos);
      if (close < 0) fail('unterminated literal length');
      const length = bytes.subarray(pos + 1, close).toString('latin1');
      if (!/^\d+$/.test(length)) fail('literal length not a number');
      if (bytes[close + 1] !== 0x0d || bytes[close + 2] !== 0x0a) fail('literal length not followed by CRLF');
      const start = close + 3;
      const end = start + Number(length);
      if (end > bytes.length) fail('literal longer than the value');
      pos = end;
      return bytes.subarray(start, end).toString('utf8');
    }
    if (c === 0x4e && bytes[pos + 1] === 0x49 && bytes[pos + 2] === 0x4c && !isAtomChar(bytes[pos + 3])) {
      pos += 3;
      return null;
    }
    const start = pos;
    while (bytes[pos] !== undefined && bytes[pos]! >= 0x30 && bytes[pos]! <= 0x39) pos++;
    if (pos > start && !isAtomChar(bytes[pos])) return Number(bytes.subarray(start, pos).toString('latin1'));
    pos = start;
    const atom = /^[^ ()"{}\r\n]+/.exec(bytes.subarray(pos, pos + 32).toString('latin1'))?.[0];
    return fail(`unexpected ${JSON.stringify(atom ?? String.fromCharCode(c ?? 0))}`);
  }

  const result = value();
  if (pos !== bytes.length) fail('text after the value');
  return result;
}
