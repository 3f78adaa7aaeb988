// Writing IMAP data (RFC 3501 §4, RFC 9051 §4): every string goes out as an atom, a quoted
// string or a literal, whichever the grammar and the bytes allow. Literal contents are
// written as Buffers, byte for byte: a message is never decoded to a JS string on its way out.

export type ImapChunk = string | Uint8Array;

// biome-ignore lint/suspicious/noControlCharactersInRegex: atom-specials include CTL (RFC 3501 §9)
const ATOM_SPECIALS = /[(){ %*"\\\]\x00-\x1f\x7f]/;
const UNQUOTABLE = /[\r\n\0]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the whole 7-bit range is the point
const NON_ASCII = /[^\x00-\x7f]/;

/** A string as a quoted string when it can be one, else a literal (8-bit as UTF-8 only when allowed). */
export function imapString(value: string, utf8 = false): string {
  if (UNQUOTABLE.test(value) || (!utf8 && NON_ASCII.test(value))) {
    return `{${Buffer.byteLength(value, 'utf8')}}\r\n${value}`;
  }
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/** astring: an atom when the value is a plain atom (and not NIL, which would read as nil). */
export function imapAString(value: string, utf8 = false): string {
  if (value !== '' && !ATOM_SPECIALS.test(value) && !NON_ASCII.test(value) && value.toUpperCase() !== 'NIL') {
    return value;
  }
  return imapString(value, utf8);
}

export function imapNString(value: string | null | undefined, utf8 = false): string {
  return value === null || value === undefined ? 'NIL' : imapString(value, utf8);
}

/** A literal header for bytes that follow as a separate chunk. */
export function literalPrefix(data: Uint8Array, binary = false): string {
  return `${binary ? '~' : ''}{${data.length}}\r\n`;
}

/**
 * Collects one response's pieces so that text runs are joined and literal bytes stay
 * Buffers; the session writes the chunks in order.
 */
export class ResponseBuilder {
  private readonly chunks: ImapChunk[] = [];
  private text = '';

  add(text: string): this {
    this.text += text;
    return this;
  }

  literal(data: Uint8Array, binary = false): this {
    this.text += literalPrefix(data, binary);
    this.flushText();
    this.chunks.push(data);
    return this;
  }

  /** A literal, or NIL when there is no data. */
  nliteral(data: Uint8Array | undefined): this {
    return data === undefined ? this.add('NIL') : this.literal(data);
  }

  build(): ImapChunk[] {
    this.flushText();
    return this.chunks;
  }

  private flushText(): void {
    if (this.text !== '') {
      this.chunks.push(this.text);
      this.text = '';
    }
  }
}

/**
 * Gathers the responses of a burst (a FETCH batch) into few, large writes: text runs and
 * small literals are copied into one Buffer of about `limit` bytes, so twenty FETCH lines
 * with a literal each cost one socket write, not sixty (each socket.write has its own
 * stream bookkeeping, and each chunk its own iovec). A literal of `limit` bytes or more
 * goes out as it is, after what came before it, so memory stays bounded by `limit`.
 */
export class WriteBatch {
  private parts: Uint8Array[] = [];
  private text = '';
  private size = 0;

  constructor(
    private readonly write: (chunk: ImapChunk) => Promise<void>,
    private readonly limit = 65_536,
  ) {}

  async add(chunks: readonly ImapChunk[]): Promise<void> {
    for (const chunk of chunks) {
      if (typeof chunk === 'string') {
        this.text += chunk;
        this.size += chunk.length;
      } else if (chunk.length >= this.limit) {
        await this.flush();
        await this.write(chunk);
      } else {
        this.endText();
        this.parts.push(chunk);
        this.size += chunk.length;
      }
    }
    if (this.size >= this.limit) await this.flush();
  }

  /** Writes what is gathered (text alone goes as a string: no copy into a Buffer). */
  async flush(): Promise<void> {
    if (this.parts.length === 0 && this.text === '') return;
    let out: ImapChunk;
    if (this.parts.length === 0) out = this.text;
    else {
      this.endText();
      out = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    }
    this.parts = [];
    this.text = '';
    this.size = 0;
    await this.write(out);
  }

  private endText(): void {
    if (this.text !== '') {
      this.parts.push(Buffer.from(this.text, 'utf8'));
      this.text = '';
    }
  }
}

/** "01-Jan-2020 10:00:00 +0000" (RFC 3501 date-time, date-year is 4DIGIT), in UTC. */
export function formatInternalDate(date: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  const year = String(date.getUTCFullYear()).padStart(4, '0');
  return `${pad(date.getUTCDate())}-${months[date.getUTCMonth()]}-${year} ${pad(date.getUTCHours())}:${pad(
    date.getUTCMinutes(),
  )}:${pad(date.getUTCSeconds())} +0000`;
}

const MONTHS: Record<string, number> = {
  jan: 0,
  feb: 1,
  mar: 2,
  apr: 3,
  may: 4,
  jun: 5,
  jul: 6,
  aug: 7,
  sep: 8,
  oct: 9,
  nov: 10,
  dec: 11,
};

/**
 * Midnight UTC of a calendar day, or undefined when there is no such day: 31-Feb is not
 * 3-Mar, and year 0000 does not exist (Postgres refuses it; Date.UTC would read it as 1900).
 */
function utcDay(year: number, month: number, day: number): Date | undefined {
  if (year < 1 || day < 1) return undefined;
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0-99 to 1900-1999.
  date.setUTCFullYear(year, month, day);
  return date.getUTCMonth() === month && date.getUTCDate() === day ? date : undefined;
}

/**
 * APPEND's date-time: "d-Mon-yyyy hh:mm:ss +zzzz" (day may be space-padded); undefined if
 * invalid, including a day the month does not have and a moment whose UTC year is not
 * 0001-9999 (INTERNALDATE must be written back with a 4-digit year).
 */
export function parseInternalDate(text: string): Date | undefined {
  const m = /^ ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(text);
  if (!m) return undefined;
  const month = MONTHS[m[2]!.toLowerCase()];
  if (month === undefined) return undefined;
  const [day, year, hh, mm, ss, zh, zm] = [m[1], m[3], m[4], m[5], m[6], m[8], m[9]].map(Number) as number[];
  if (hh! > 23 || mm! > 59 || ss! > 60 || zm! > 59) return undefined;
  const midnight = utcDay(year!, month, day!);
  if (!midnight) return undefined;
  const offset = (m[7] === '-' ? -1 : 1) * (zh! * 60 + zm!);
  // A leap second (:60) is kept as :59, the last second JS can name.
  const date = new Date(
    midnight.getTime() + ((hh! * 60 + mm!) * 60 + Math.min(ss!, 59)) * 1000 - offset * 60_000,
  );
  const utcYear = date.getUTCFullYear();
  return utcYear >= 1 && utcYear <= 9999 ? date : undefined;
}

/** SEARCH's date: "d-Mon-yyyy" as the UTC day it names; undefined if there is no such day. */
export function parseSearchDate(text: string): Date | undefined {
  const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(text);
  if (!m) return undefined;
  const month = MONTHS[m[2]!.toLowerCase()];
  if (month === undefined) return undefined;
  return utcDay(Number(m[3]), month, Number(m[1]));
}
