import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { SourceFolder, SourceMessage } from './mail-import.js';

// A Dovecot (or Courier) Maildir++ tree, as `tegami import maildir` reads it: the root is
// INBOX (cur/, new/), each other folder a `.Name` or `.Parent.Child` directory beside them,
// names in IMAP's modified UTF-7 (RFC 3501 §5.1.3) as Dovecot writes them. Messages are
// read one at a time, as they are: files are never changed.

/**
 * A name level in IMAP's modified UTF-7 (RFC 3501 §5.1.3) as Dovecot stores it on disk:
 * `&AOQ-` is ä, `&-` is &. A level that is not valid modified UTF-7 is taken as it is.
 */
export function decodeModifiedUtf7(level: string): string {
  let valid = true;
  const decoded = level.replace(/&([A-Za-z0-9+,]*)-/g, (_, base64: string) => {
    if (base64 === '') return '&';
    const bytes = Buffer.from(base64.replace(/,/g, '/'), 'base64');
    // Exactly what an encoder writes for these UTF-16 units, or not modified UTF-7.
    const again = bytes.toString('base64').replace(/=+$/, '').replace(/\//g, ',');
    if (bytes.length === 0 || bytes.length % 2 !== 0 || again !== base64) {
      valid = false;
      return '';
    }
    return bytes.swap16().toString('utf16le');
  });
  return valid && !decoded.includes('\uFFFD') ? decoded : level;
}

/** Maildir info flags (the letters after `:2,`) and the IMAP flags they stand for. */
const FLAG_LETTERS: Readonly<Record<string, string>> = {
  D: '\\Draft',
  F: '\\Flagged',
  R: '\\Answered',
  S: '\\Seen',
  T: '\\Deleted',
};

/** A Maildir++ directory name (`.Lists.dev`, without the dot) as a Tegami name (`Lists/dev`). */
export function maildirFolderName(directory: string): string {
  return directory
    .split('.')
    .map((level) => decodeModifiedUtf7(level))
    .join('/');
}

/** dovecot-uidlist: UIDVALIDITY, the next UID, and each message's UID by its base name. */
export interface UidList {
  readonly uidValidity: number;
  readonly uidNext: number;
  readonly uids: ReadonlyMap<string, number>;
}

/**
 * Parses dovecot-uidlist: version 3 (`3 V<uidvalidity> N<nextuid> G<guid>`, then `<uid>
 * [<extensions>] :<base name>`) and version 1 (`1 <uidvalidity> <nextuid>`, `<uid> <name>`).
 * Undefined for another version.
 */
export function parseUidList(text: string): UidList | undefined {
  const [header = '', ...lines] = text.split('\n');
  const fields = header.trim().split(/\s+/);
  let uidValidity: number;
  let uidNext: number;
  if (fields[0] === '3') {
    uidValidity = Number(fields.find((f) => f.startsWith('V'))?.slice(1));
    uidNext = Number(fields.find((f) => f.startsWith('N'))?.slice(1) ?? 1);
  } else if (fields[0] === '1') {
    uidValidity = Number(fields[1]);
    uidNext = Number(fields[2] ?? 1);
  } else {
    return undefined;
  }
  if (!Number.isInteger(uidValidity) || uidValidity < 1) return undefined;
  const uids = new Map<string, number>();
  for (const line of lines) {
    const uid = Number(/^\d+/.exec(line)?.[0]);
    if (!Number.isInteger(uid) || uid < 1) continue;
    const colon = line.indexOf(' :');
    const name = colon >= 0 ? line.slice(colon + 2) : line.trim().split(/\s+/).at(-1)!;
    uids.set(baseName(name), uid);
  }
  return { uidValidity, uidNext: Number.isInteger(uidNext) && uidNext >= 1 ? uidNext : 1, uids };
}

/** A message file's name without its info (`:2,FS`): what dovecot-uidlist keys it by. */
function baseName(file: string): string {
  const colon = file.indexOf(':');
  return colon >= 0 ? file.slice(0, colon) : file;
}

/** The IMAP flags of a file name's info: system letters, and keyword letters (a–z) by dovecot-keywords. */
export function maildirFlags(file: string, keywords: readonly (string | undefined)[]): string[] {
  const info = /:2,([^:]*)$/.exec(file)?.[1] ?? '';
  const flags: string[] = [];
  for (const letter of info) {
    const system = FLAG_LETTERS[letter];
    if (system) flags.push(system);
    else if (letter >= 'a' && letter <= 'z') {
      const keyword = keywords[letter.charCodeAt(0) - 97];
      if (keyword) flags.push(keyword);
    }
  }
  return flags;
}

/** dovecot-keywords: `<index> <keyword>` lines; index 0 is letter a. */
export function parseKeywords(text: string): (string | undefined)[] {
  const keywords: (string | undefined)[] = [];
  for (const line of text.split('\n')) {
    const match = /^(\d+) (\S+)$/.exec(line.trim());
    if (match && Number(match[1]) < 26) keywords[Number(match[1])] = match[2];
  }
  return keywords;
}

/**
 * The subscriptions file: one name a line, Maildir++ `.` between levels; Dovecot 2.3's
 * version 2 starts with `V\t2` and puts a tab between levels.
 */
export function parseSubscriptions(text: string): Set<string> {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const v2 = /^V\t\d+$/.test(lines[0] ?? '');
  const names = new Set<string>();
  for (const line of v2 ? lines.slice(1) : lines) {
    if (line === '') continue;
    const levels = line.split(v2 ? '\t' : '.').map((level) => decodeModifiedUtf7(level));
    if (levels[0]!.toUpperCase() === 'INBOX') levels[0] = 'INBOX';
    names.add(levels.join('/'));
  }
  return names;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function listOptional(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

const isDirectory = async (path: string) => (await stat(path).catch(() => undefined))?.isDirectory() ?? false;

/** One folder: its files' names are listed; each message is read when its turn comes. */
async function maildirFolder(directory: string, name: string, subscribed: boolean): Promise<SourceFolder> {
  const uidList = parseUidList((await readOptional(join(directory, 'dovecot-uidlist'))) ?? '');
  const keywords = parseKeywords((await readOptional(join(directory, 'dovecot-keywords'))) ?? '');
  const files: { path: string; file: string; uid: number | undefined }[] = [];
  // A message is its unique name (the file name before the info): a server moving it from
  // new/ to cur/, or changing its flags, while the tree is listed shows it twice. Files with
  // other names are other messages, even with the very same bytes (copies a user kept).
  const names = new Set<string>();
  for (const sub of ['cur', 'new']) {
    for (const file of await listOptional(join(directory, sub))) {
      if (file.startsWith('.') || names.has(baseName(file))) continue;
      names.add(baseName(file));
      files.push({ path: join(directory, sub, file), file, uid: uidList?.uids.get(baseName(file)) });
    }
  }
  // By UID, then those without one by name (Maildir names begin with the delivery time).
  files.sort((a, b) =>
    a.uid !== undefined && b.uid !== undefined
      ? a.uid - b.uid
      : a.uid !== undefined
        ? -1
        : b.uid !== undefined
          ? 1
          : a.file < b.file
            ? -1
            : a.file > b.file
              ? 1
              : 0,
  );
  return {
    name,
    subscribed,
    count: files.length,
    ...(uidList && { uidValidity: uidList.uidValidity, uidNext: uidList.uidNext }),
    async *messages(): AsyncIterable<SourceMessage> {
      for (const { path, file, uid } of files) {
        let raw: Buffer;
        let mtime: Date;
        try {
          raw = await readFile(path);
          mtime = (await stat(path)).mtime;
        } catch (err) {
          // Moved (new/ to cur/) or expunged by a server still running: not there any more.
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw err;
        }
        yield {
          raw: withCrlf(raw),
          flags: maildirFlags(file, keywords),
          internalDate: mtime,
          ...(uid !== undefined && { uid }),
        };
      }
    },
  };
}

/** The folders of a Maildir++ tree, INBOX first, then by name. */
export async function readMaildirTree(root: string): Promise<SourceFolder[]> {
  if (!(await isDirectory(join(root, 'cur'))) && !(await isDirectory(join(root, 'new'))))
    throw new Error(`${root} is not a Maildir: it has no cur/ or new/`);
  const subscriptionsFile = await readOptional(join(root, 'subscriptions'));
  const subscriptions = subscriptionsFile === undefined ? undefined : parseSubscriptions(subscriptionsFile);
  // Without a subscriptions file every folder is subscribed, as a new mailbox is.
  const subscribed = (name: string) => subscriptions === undefined || subscriptions.has(name);
  const folders = [await maildirFolder(root, 'INBOX', subscribed('INBOX'))];
  const entries = (await readdir(root)).filter((e) => e.startsWith('.') && e !== '.' && e !== '..').sort();
  for (const entry of entries) {
    const directory = join(root, entry);
    if (!(await isDirectory(directory))) continue;
    const name = maildirFolderName(entry.slice(1));
    if (name.toUpperCase() === 'INBOX' || name === '') continue;
    folders.push(await maildirFolder(directory, name, subscribed(name)));
  }
  return folders;
}

/**
 * Dovecot and Courier write Maildir files with bare LF line ends and turn them into CRLF
 * when they serve them; Tegami serves the stored bytes as they are, and IMAP and POP3 need
 * CRLF (RFC 3501 §2.2, RFC 5322 §2.1): so the import does the conversion once. A file that
 * is CRLF already comes out unchanged.
 */
export function withCrlf(raw: Buffer): Buffer {
  if (!raw.includes(0x0a)) return raw;
  const text = raw.toString('latin1');
  const converted = text.replace(/\r?\n/g, '\r\n');
  return converted.length === text.length ? raw : Buffer.from(converted, 'latin1');
}
