// Writes a Dovecot Maildir++ tree of N messages for bench/import/run.sh: the shapes of
// bench/imap/own-shapes.ts (the shared corpus, a ~10 KB text message, a ~40 KB one with an
// attachment) in turn, spread over INBOX and the folders of own-shapes.ts's FOLDERS, with
// LF line ends as Dovecot stores them, each with a Received line of its own, a dovecot-uidlist per folder (version 3), flags in
// the file names (every other message \Seen, every seventh \Flagged) and a subscriptions file.
// Usage: tsx bench/import/make-maildir.ts <dir> <messages>
import { randomBytes } from 'node:crypto';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FOLDERS, messageShapes } from '../imap/own-shapes.js';

const [root, countText] = process.argv.slice(2);
if (!root || !countText) throw new Error('usage: make-maildir.ts <dir> <messages>');
const count = Number(countText);
const shapes = messageShapes().map((raw) =>
  Buffer.from(raw.toString('latin1').replace(/\r\n/g, '\n'), 'latin1'),
);
const folders: [string, number][] = [['INBOX', 1 - FOLDERS.reduce((n, [, f]) => n + f, 0)], ...FOLDERS];
const start = Date.UTC(2025, 0, 1) / 1000;
let written = 0;
let bytes = 0;
for (const [i, [name, share]] of folders.entries()) {
  const dir = name === 'INBOX' ? root : join(root, `.${name}`);
  mkdirSync(join(dir, 'cur'), { recursive: true });
  mkdirSync(join(dir, 'new'), { recursive: true });
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  const n = i === folders.length - 1 ? count - written : Math.round(count * share);
  const uidlist = [`3 V${start + i} N${n + 1} G${randomBytes(16).toString('hex')}`];
  for (let uid = 1; uid <= n; uid++) {
    const k = written + uid;
    // A Received line of its own makes every message distinct, as real mail is: Tegami stores
    // each distinct message's bytes once, and 10,000 copies of eight shapes would be eight.
    const raw = Buffer.concat([
      Buffer.from(
        `Received: from mx${k % 97}.bench.test (mx${k % 97}.bench.test [192.0.2.${k % 250}]) by old.bench.test with ESMTPS id ${k.toString(36).padStart(8, '0')}; ${new Date((start + k * 60) * 1000).toUTCString()}\n`,
      ),
      shapes[k % shapes.length]!,
    ]);
    const time = start + k * 60;
    const base = `${time}.M${k}P1.bench,S=${raw.length}`;
    const flags = `${k % 7 === 0 ? 'F' : ''}${k % 2 === 0 ? 'S' : ''}`;
    const file = join(dir, 'cur', `${base}:2,${flags}`);
    writeFileSync(file, raw);
    utimesSync(file, time, time);
    uidlist.push(`${uid} :${base}`);
    bytes += raw.length;
  }
  writeFileSync(join(dir, 'dovecot-uidlist'), `${uidlist.join('\n')}\n`);
  written += n;
}
writeFileSync(join(root, 'subscriptions'), `V\t2\n\n${folders.map(([name]) => name).join('\n')}\n`);
console.log(`${written} messages, ${bytes} bytes in ${folders.length} folders`);
