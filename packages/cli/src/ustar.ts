import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';

// Tar files as POSIX.1-2001 (pax) defines them, the little of it an account archive needs:
// regular files, written one after another to a stream and read back one at a time, so
// neither side ever holds more than one entry. A path longer than ustar's 100-octet name
// field goes in a pax extended header ('x', the `path` record) before its entry, as GNU
// tar and bsdtar write and read it.

const BLOCK = 512;
const END_OF_ARCHIVE = Buffer.alloc(BLOCK * 2);

export interface TarEntry {
  readonly path: string;
  readonly data: Buffer;
}

/** Writes entries to `out`, waiting when it is full (constant memory whatever the total). */
export class TarWriter {
  constructor(private readonly out: Writable) {}

  async add(path: string, data: Buffer, mtime = new Date()): Promise<void> {
    const name = Buffer.from(path, 'utf8');
    if (name.length > 100) {
      const record = paxRecord('path', path);
      await this.write(header('PaxHeader/entry', record.length, 0x78 /* 'x' */, mtime));
      await this.write(padded(record));
    }
    await this.write(header(name.length > 100 ? 'long-name' : path, data.length, 0x30 /* '0' */, mtime));
    await this.write(padded(data));
  }

  /** The two zero blocks that end an archive; a reader that misses them knows it is cut short. */
  async finish(): Promise<void> {
    await this.write(END_OF_ARCHIVE);
    this.out.end();
    await once(this.out, 'finish');
  }

  private async write(chunk: Buffer): Promise<void> {
    if (chunk.length > 0 && !this.out.write(chunk)) await once(this.out, 'drain');
  }
}

/** A pax record: "<length> <key>=<value>\n", the length counting itself. */
function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body, 'utf8');
  let length = bodyLength + 1;
  while (String(length).length + bodyLength !== length) length = String(length).length + bodyLength;
  return Buffer.from(`${length}${body}`, 'utf8');
}

function header(path: string, size: number, typeflag: number, mtime: Date): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(path, 0, 100, 'utf8');
  octal(block, 100, 8, 0o644);
  octal(block, 108, 8, 0);
  octal(block, 116, 8, 0);
  octal(block, 124, 12, size);
  octal(block, 136, 12, Math.max(0, Math.floor(mtime.getTime() / 1000)));
  block.fill(0x20, 148, 156); // the checksum counts its own field as spaces
  block[156] = typeflag;
  block.write('ustar\u000000', 257, 8, 'latin1');
  let sum = 0;
  for (const octet of block) sum += octet;
  block.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'latin1');
  return block;
}

function octal(block: Buffer, offset: number, width: number, value: number): void {
  block.write(`${value.toString(8).padStart(width - 1, '0')}\u0000`, offset, width, 'latin1');
}

function padded(data: Buffer): Buffer {
  const rest = data.length % BLOCK;
  return rest === 0 ? data : Buffer.concat([data, Buffer.alloc(BLOCK - rest)]);
}

/** Thrown for a file that is not a whole tar archive: cut short, or not tar at all. */
export class TarFormatError extends Error {}

/** Reads exact lengths from a stream, keeping only what the current read needs. */
class ExactReader {
  private readonly chunks: AsyncIterator<Buffer>;
  private pending: Buffer[] = [];
  private pendingLength = 0;

  constructor(input: Readable) {
    this.chunks = input[Symbol.asyncIterator]();
  }

  /** `length` octets, or fewer when the stream ends first. */
  async read(length: number): Promise<Buffer> {
    while (this.pendingLength < length) {
      const next = await this.chunks.next();
      if (next.done) break;
      const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
      this.pending.push(chunk);
      this.pendingLength += chunk.length;
    }
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    const taken = all.subarray(0, length);
    const rest = all.subarray(taken.length);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingLength = rest.length;
    return taken;
  }
}

/** The regular files of the archive in order; throws TarFormatError when it is cut short or damaged. */
export async function* readTar(input: Readable): AsyncGenerator<TarEntry> {
  const reader = new ExactReader(input);
  let paxPath: string | undefined;
  for (;;) {
    const block = await reader.read(BLOCK);
    if (block.length < BLOCK) throw new TarFormatError('the archive is cut short: no end-of-archive marker');
    if (block.every((octet) => octet === 0)) return;
    checkSum(block);
    const size = parseOctal(block.subarray(124, 136));
    const typeflag = block[156]!;
    const name = nulTerminated(block.subarray(0, 100));
    const prefix =
      block.subarray(257, 262).toString('latin1') === 'ustar' ? nulTerminated(block.subarray(345, 500)) : '';
    const path = paxPath ?? (prefix ? `${prefix}/${name}` : name);
    const data = await reader.read(size);
    if (data.length < size) throw new TarFormatError(`the archive is cut short in ${path}`);
    const padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if ((await reader.read(padding)).length < padding)
      throw new TarFormatError(`the archive is cut short after ${path}`);
    if (typeflag === 0x78 /* 'x' */) {
      paxPath = parsePax(data).get('path');
      continue;
    }
    paxPath = undefined;
    // Regular files only ('0', or NUL from old tars); directories and links carry nothing here.
    if (typeflag === 0x30 || typeflag === 0) yield { path, data: Buffer.from(data) };
  }
}

function checkSum(block: Buffer): void {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  if (parseOctal(block.subarray(148, 156)) !== sum)
    throw new TarFormatError('not a tar archive (bad header checksum)');
}

function parseOctal(field: Buffer): number {
  const text = field
    .toString('latin1')
    .replace(/[\0 ]+$/g, '')
    .trim();
  if (!/^[0-7]*$/.test(text)) throw new TarFormatError('not a tar archive (bad number in a header)');
  return text === '' ? 0 : Number.parseInt(text, 8);
}

function nulTerminated(field: Buffer): string {
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? field.length : end).toString('utf8');
}

function parsePax(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const length = Number(data.subarray(at, space).toString('latin1'));
    if (space === -1 || !Number.isSafeInteger(length) || length <= 0)
      throw new TarFormatError('not a tar archive (bad pax header)');
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    records.set(record.slice(0, equals), record.slice(equals + 1));
    at += length;
  }
  return records;
}
