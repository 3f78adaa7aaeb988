import { connect as connectTcp, type Socket } from 'node:net';

// A minimal raw IMAP client for protocol tests: commands go out as written, responses
// come back as the exact bytes the server sent (Buffers: literal contents may be 8-bit
// and need not be UTF-8). Literals in responses ({n}CRLF followed by n octets, RFC 3501
// §4.3) are read by count, never by scanning for line ends, so a response is always
// whole, however many CRLFs its literals contain.
//
// parseImapValues() turns response bytes into a tree (atoms, strings, NIL, lists) for
// comparing FETCH items structurally.

export interface ImapResponse {
  /** The tagged completion line without CRLF, e.g. "A0003 OK Fetch completed.". */
  readonly tagged: string;
  /** Every untagged response ("* ..."), without its final CRLF, literals included byte for byte. */
  readonly untagged: Buffer[];
}

const CRLF = Buffer.from('\r\n');
// A literal announcement at the very end of a line: {123} or {123+} (LITERAL+, RFC 7888), or ~{n} (BINARY).
const literalAtEnd = /~?\{(\d+)\+?\}$/;

function quote(text: string): string {
  return `"${text.replace(/["\\]/g, '\\$&')}"`;
}

export class ImapTestClient {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private waiter: (() => void) | undefined;
  private closed = false;
  private error: Error | undefined;
  private nextTag = 1;
  /** The server's greeting line. */
  greeting = '';

  private constructor(private readonly socket: Socket) {
    // Commands and literals are small separate writes waiting on the server's answer:
    // without this, Nagle's algorithm and delayed ACKs cost ~40 ms per APPEND.
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      this.wake();
    });
    socket.on('error', (err) => {
      this.error = err;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<ImapTestClient> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connectTcp({ host, port }, () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
    const client = new ImapTestClient(socket);
    // Dovecot may first say "* OK Waiting for authentication process to respond..".
    for (;;) {
      const line = (await client.readResponse()).toString('utf8');
      if (!line.startsWith('* ')) throw new Error(`unexpected greeting: ${line}`);
      if (/^\* (PREAUTH|BYE)/i.test(line) || !/Waiting for authentication/i.test(line)) {
        client.greeting = line;
        return client;
      }
    }
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private async fill(timeoutMs: number): Promise<void> {
    if (this.error) throw this.error;
    if (this.closed) throw new Error('connection closed by the server');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private joined(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  private consume(n: number): Buffer {
    const all = this.joined();
    const taken = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return Buffer.from(taken);
  }

  /**
   * One whole response (untagged, continuation or tagged) without its final CRLF: the
   * line, and for each literal it announces the literal's octets and the rest of the line.
   */
  async readResponse(timeoutMs = 30_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    const parts: Buffer[] = [];
    let scanFrom = 0;
    for (;;) {
      const all = this.joined();
      const end = all.indexOf(CRLF, scanFrom);
      if (end < 0) {
        scanFrom = Math.max(0, all.length - 1);
        await this.fill(deadline - Date.now());
        continue;
      }
      const line = all.subarray(0, end);
      // Only the tail of the line matters; latin1 keeps one character per octet.
      const announced = literalAtEnd.exec(line.subarray(Math.max(0, line.length - 24)).toString('latin1'));
      if (!announced) {
        parts.push(this.consume(end));
        this.consume(2);
        return Buffer.concat(parts);
      }
      const size = Number(announced[1]);
      while (this.buffered < end + 2 + size) await this.fill(deadline - Date.now());
      parts.push(this.consume(end + 2 + size));
      scanFrom = 0;
    }
  }

  private tag(): string {
    return `A${String(this.nextTag++).padStart(4, '0')}`;
  }

  private async collect(tag: string, untagged: Buffer[]): Promise<ImapResponse> {
    for (;;) {
      const response = await this.readResponse();
      if (response[0] === 0x2a /* * */) untagged.push(response);
      else if (response.subarray(0, tag.length + 1).toString('latin1') === `${tag} `) {
        return { tagged: response.toString('utf8'), untagged };
      } else throw new Error(`unexpected response while waiting for ${tag}: ${response.toString('utf8')}`);
    }
  }

  /** Sends "<tag> <text>\r\n" and collects everything up to the tagged completion. */
  async command(text: string): Promise<ImapResponse> {
    const tag = this.tag();
    this.socket.write(Buffer.from(`${tag} ${text}\r\n`, 'utf8'));
    return this.collect(tag, []);
  }

  /**
   * APPEND with a synchronising literal: sends the command up to {n}, waits for the
   * server's "+" continuation, then the message bytes. A tagged NO/BAD instead of the
   * continuation is returned as is.
   */
  async append(
    mailbox: string,
    raw: Buffer,
    flags: readonly string[] = [],
    internalDate?: string,
  ): Promise<ImapResponse> {
    const tag = this.tag();
    const flagList = flags.length > 0 ? ` (${flags.join(' ')})` : '';
    // date-time, e.g. "01-Jun-2026 10:00:00 +0000" (RFC 3501 §6.3.11).
    const date = internalDate === undefined ? '' : ` "${internalDate}"`;
    this.socket.write(
      Buffer.from(`${tag} APPEND ${quote(mailbox)}${flagList}${date} {${raw.length}}\r\n`, 'utf8'),
    );
    const untagged: Buffer[] = [];
    for (;;) {
      const response = await this.readResponse();
      if (response[0] === 0x2b /* + */) break;
      if (response[0] === 0x2a /* * */) {
        untagged.push(response);
        continue;
      }
      return { tagged: response.toString('utf8'), untagged };
    }
    this.socket.write(Buffer.concat([raw, CRLF]));
    return this.collect(tag, untagged);
  }

  /**
   * A command with synchronising literals, sent as a careful client sends it: `pieces`
   * alternate between line parts (each but the last ending in a `{n}` marker) and the
   * literals' octets, each literal sent only after the server's "+". A tagged answer
   * instead of a "+" (a refusal before the literal) ends the command there.
   */
  async commandWithLiterals(pieces: readonly (string | Buffer)[]): Promise<ImapResponse> {
    const tag = this.tag();
    const untagged: Buffer[] = [];
    this.socket.write(Buffer.from(`${tag} ${String(pieces[0])}\r\n`, 'utf8'));
    for (let i = 1; i < pieces.length; i += 2) {
      for (;;) {
        const response = await this.readResponse();
        if (response[0] === 0x2b /* + */) break;
        if (response[0] === 0x2a /* * */) {
          untagged.push(response);
          continue;
        }
        return { tagged: response.toString('utf8'), untagged };
      }
      const literal = pieces[i]!;
      const line = String(pieces[i + 1] ?? '');
      this.socket.write(Buffer.concat([Buffer.from(literal), Buffer.from(`${line}\r\n`, 'utf8')]));
    }
    return this.collect(tag, untagged);
  }

  /** LOGIN with both arguments as quoted strings; throws unless OK. */
  async login(user: string, password: string): Promise<void> {
    const { tagged } = await this.command(`LOGIN ${quote(user)} ${quote(password)}`);
    if (!/^\S+ OK/.test(tagged)) throw new Error(`login failed: ${tagged}`);
  }

  /** LOGOUT if still connected, then closes the socket. */
  async close(): Promise<void> {
    if (!this.closed && !this.error) {
      try {
        await this.command('LOGOUT');
      } catch {
        // The server may close before the tagged OK arrives.
      }
    }
    this.socket.destroy();
  }
}

// --- Response values -------------------------------------------------------------------

/** An IMAP value from a response: NIL, an atom (numbers, flags, item names), a string, or a list. */
export type ImapValue = null | ImapAtom | ImapString | ImapValue[];
export interface ImapAtom {
  readonly atom: string;
}
export interface ImapString {
  /** The string's octets: quoted and literal forms give the same value. */
  readonly string: Buffer;
}

export function isImapAtom(value: ImapValue): value is ImapAtom {
  return value !== null && !Array.isArray(value) && 'atom' in value;
}

export function isImapString(value: ImapValue): value is ImapString {
  return value !== null && !Array.isArray(value) && 'string' in value;
}

/**
 * Parses a sequence of space-separated IMAP values (RFC 3501 §4, §9): quoted strings
 * with \\ and \" escapes, literals {n}CRLF and ~{n}CRLF read by count, NIL (any case),
 * parenthesised lists, and atoms (anything else up to a space or parenthesis; "[" ... "]"
 * is kept inside an atom, as in BODY[HEADER.FIELDS (DATE)]). Throws on malformed input.
 */
export function parseImapValues(bytes: Buffer, start = 0): ImapValue[] {
  let pos = start;
  const fail = (why: string): never => {
    const near = bytes.subarray(Math.max(0, pos - 20), pos + 20).toString('latin1');
    throw new Error(`${why} at ${pos} near ${JSON.stringify(near)}`);
  };
  const value = (): ImapValue => {
    const c = bytes[pos];
    if (c === 0x28 /* ( */) {
      pos++;
      const list: ImapValue[] = [];
      for (;;) {
        if (bytes[pos] === 0x20) pos++;
        if (pos >= bytes.length) fail('unterminated list');
        if (bytes[pos] === 0x29 /* ) */) {
          pos++;
          return list;
        }
        list.push(value());
      }
    }
    if (c === 0x22 /* " */) {
      pos++;
      const out: number[] = [];
      for (;;) {
        const b = bytes[pos++];
        if (b === undefined || b === 0x0d || b === 0x0a) fail('unterminated quoted string');
        if (b === 0x22) return { string: Buffer.from(out) };
        if (b === 0x5c /* \ */) {
          const escaped = bytes[pos++];
          if (escaped !== 0x22 && escaped !== 0x5c) fail('bad escape in quoted string');
          out.push(escaped as number);
        } else out.push(b as number);
      }
    }
    if (c === 0x7b /* { */ || (c === 0x7e /* ~ */ && bytes[pos + 1] === 0x7b)) {
      const close = bytes.indexOf(0x7d /* } */, pos);
      const header = close < 0 ? '' : bytes.subarray(pos, close + 1).toString('latin1');
      const m = /^~?\{(\d+)\+?\}$/.exec(header);
      if (!m || bytes[close + 1] !== 0x0d || bytes[close + 2] !== 0x0a) fail('bad literal');
      const size = Number(m![1]);
      const from = close + 3;
      if (from + size > bytes.length) fail('literal longer than the response');
      pos = from + size;
      return { string: Buffer.from(bytes.subarray(from, from + size)) };
    }
    const from = pos;
    let depth = 0;
    while (pos < bytes.length) {
      const b = bytes[pos]!;
      if (b === 0x5b /* [ */) depth++;
      else if (b === 0x5d /* ] */) depth--;
      else if (depth === 0 && (b === 0x20 || b === 0x28 || b === 0x29 || b === 0x0d || b === 0x0a)) break;
      pos++;
    }
    if (pos === from) fail('expected a value');
    const atom = bytes.subarray(from, pos).toString('latin1');
    return atom.toUpperCase() === 'NIL' ? null : { atom };
  };
  const values: ImapValue[] = [];
  while (pos < bytes.length) {
    if (bytes[pos] === 0x20) {
      pos++;
      continue;
    }
    values.push(value());
  }
  return values;
}

/**
 * A FETCH response ("* 12 FETCH (UID 7 RFC822.SIZE 300 ...)") as its sequence number
 * and items keyed by upper-cased item name; null for other responses.
 */
export function parseFetchResponse(response: Buffer): { seq: number; items: Map<string, ImapValue> } | null {
  const head = /^\* (\d+) FETCH /i.exec(response.subarray(0, 40).toString('latin1'));
  if (!head) return null;
  const values = parseImapValues(response, head[0].length);
  const list = values[0];
  if (values.length !== 1 || !Array.isArray(list) || list.length % 2 !== 0) {
    throw new Error(`malformed FETCH response: ${response.toString('latin1').slice(0, 200)}`);
  }
  const items = new Map<string, ImapValue>();
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!;
    if (!isImapAtom(name)) throw new Error('FETCH item name is not an atom');
    items.set(name.atom.toUpperCase(), list[i + 1]!);
  }
  return { seq: Number(head[1]), items };
}

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  if (c === '\\' || c === '"') return `\\${c}`;
  if (c === '\r') return '\\r';
  if (c === '\n') return '\\n';
  if (code < 0x20 || code === 0x7f) return `\\x${code.toString(16).padStart(2, '0')}`;
  return c;
}

function showString(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  // Valid UTF-8 is shown as text; anything else octet by octet, 8-bit ones as \xNN.
  if (Buffer.from(text, 'utf8').equals(bytes)) return `"${[...text].map(escapeChar).join('')}"`;
  const shown = [...bytes].map((b) =>
    b >= 0x80 ? `\\x${b.toString(16).padStart(2, '0')}` : escapeChar(String.fromCharCode(b)),
  );
  return `"${shown.join('')}"`;
}

/**
 * One canonical text for a value: strings always quoted (so a literal and a quoted
 * string with the same octets print alike), control characters as \r \n, invalid
 * UTF-8 as \xNN. For showing differences; compare values with imapValuesEqual.
 */
export function formatImapValue(value: ImapValue): string {
  if (value === null) return 'NIL';
  if (Array.isArray(value)) return `(${value.map(formatImapValue).join(' ')})`;
  if (isImapAtom(value)) return value.atom;
  return showString(value.string);
}

/** Structural equality: same shape, same atoms (exact case; NIL is NIL), same string octets. */
export function imapValuesEqual(a: ImapValue, b: ImapValue): boolean {
  if (a === null || b === null) return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) &&
      Array.isArray(b) &&
      a.length === b.length &&
      a.every((v, i) => imapValuesEqual(v, b[i]!))
    );
  }
  if (isImapAtom(a)) return isImapAtom(b) && a.atom === b.atom;
  return isImapString(b) && a.string.equals(b.string);
}
