// Fills Tegami's store for bench/imap/own-mailbox.sh: `users` users bench1..benchN in
// bench.test, each with its own mailbox of `count` messages spread over INBOX, Sent,
// Archive, Drafts and Trash as a real account's are, and writes the same messages (same
// flags) as Maildir++ folders for Dovecot under `maildirRoot/<user>`.
// Shapes: the shared corpus (multipart with attachments, nested alternative, 8-bit and
// encoded headers, plain) plus a ~10 KB plain-text message and a ~40 KB message with a
// base64 attachment, each made unique by X-Bench-Seq and Message-ID headers.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeMessage } from '@tegami/protocol';
import { addDomain, appendMessage, createAccount, findMailbox, migrate, openStore } from '@tegami/store';

const [url, users, count, password, maildirRoot] = process.argv.slice(2);
const corpus = new URL('../../../shared/corpus/', import.meta.url);
const shapes = readdirSync(corpus)
  .filter((f) => f.endsWith('.eml') && f !== 'malformed.eml')
  .sort()
  .map((f): Buffer => readFileSync(new URL(f, corpus)));
shapes.push(textMessage(10_000), attachmentMessage(30_000));

/** Where a user's messages go, as fractions of `count` (the rest is INBOX). */
const FOLDERS: readonly [string, number][] = [
  ['Sent', 0.15],
  ['Archive', 0.15],
  ['Drafts', 0.05],
  ['Trash', 0.05],
];

const store = openStore({ url: url!, poolSize: 8 });
await migrate(store.pool);
await addDomain(store.pool, 'bench.test');
const total = Number(count);
await Promise.all(
  Array.from({ length: Number(users) }, async (_, u) => {
    const user = `bench${u + 1}@bench.test`;
    const account = await createAccount(store.pool, user, password!);
    const plan: [string, number][] = FOLDERS.map(([name, share]) => [name, Math.round(total * share)]);
    plan.unshift(['INBOX', total - plan.reduce((sum, [, n]) => sum + n, 0)]);
    let seq = 0;
    for (const [folder, n] of plan) {
      const mailbox = await findMailbox(store.pool, account.id, folder);
      // Maildir++: INBOX is the top directory, the others ".Name" beside its cur/new/tmp.
      const dir = join(maildirRoot!, user, folder === 'INBOX' ? '' : `.${folder}`);
      for (const sub of ['new', 'cur', 'tmp']) mkdirSync(join(dir, sub), { recursive: true });
      for (let i = 0; i < n; i++, seq++) {
        const head = `X-Bench-Seq: ${seq}\r\nMessage-ID: <bench-${u + 1}-${seq}@bench.test>\r\n`;
        const raw = Buffer.concat([Buffer.from(head), shapes[seq % shapes.length]!]);
        const seen = folder !== 'INBOX' || seq % 4 !== 0;
        const flagged = seq % 11 === 0;
        const d = describeMessage(raw);
        await appendMessage(store.pool, {
          mailboxId: mailbox!.id,
          raw,
          flags: [...(flagged ? ['\\Flagged'] : []), ...(seen ? ['\\Seen'] : [])],
          metadata: d.metadata,
          searchText: d.searchText,
        });
        // Maildir info flags in ASCII order: F = \Flagged, S = \Seen.
        const info = `${flagged ? 'F' : ''}${seen ? 'S' : ''}`;
        writeFileSync(
          join(dir, 'cur', `${1_700_000_000 + seq}.M${seq}P${u + 1}.bench,S=${raw.length}:2,${info}`),
          raw,
        );
      }
      // No message is \Recent at the start on either side.
      await store.pool.query('UPDATE mailboxes SET recent_uid = uidnext WHERE id = $1', [mailbox!.id]);
    }
    writeFileSync(join(maildirRoot!, user, 'subscriptions'), `${plan.map(([f]) => f).join('\n')}\n`);
  }),
);
await store.close();

function textMessage(size: number): Buffer {
  const line = 'The quarterly figures are attached below; please check the totals before Friday.\r\n';
  return Buffer.from(
    'From: Alice Example <alice@example.org>\r\nTo: Bob Example <bob@bench.test>\r\n' +
      'Subject: Quarterly figures, a long plain-text message\r\nDate: Tue, 01 Dec 2026 09:30:00 +0000\r\n' +
      'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n' +
      line.repeat(Math.ceil(size / line.length)),
  );
}

function attachmentMessage(size: number): Buffer {
  const data = Buffer.alloc(size, 'tegami-bench-attachment').toString('base64').replace(/.{76}/g, '$&\r\n');
  return Buffer.from(
    'From: Carol Example <carol@example.net>\r\nTo: bench@bench.test, Dave <dave@example.com>\r\n' +
      'Cc: Eve <eve@example.org>\r\nSubject: Report with an attachment\r\nDate: Wed, 02 Dec 2026 14:00:00 +0100\r\n' +
      'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n' +
      '--b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nSee the attached report.\r\n' +
      '--b1\r\nContent-Type: application/pdf; name="report.pdf"\r\nContent-Transfer-Encoding: base64\r\n' +
      `Content-Disposition: attachment; filename="report.pdf"\r\n\r\n${data}\r\n--b1--\r\n`,
  );
}
