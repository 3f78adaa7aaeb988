// Fills Tegami's store for bench/imap/own-mailbox.sh: `users` users bench1..benchN in
// bench.test, each with its own mailbox of `count` messages spread over INBOX, Sent,
// Archive, Drafts and Trash as a real account's are, and writes the same messages (same
// flags) as Maildir++ folders for Dovecot under `maildirRoot/<user>`.
// Shapes: own-shapes.ts, each made unique by X-Bench-Seq and Message-ID headers.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeMessage } from '@tegami/protocol';
import { addDomain, appendMessage, createAccount, findMailbox, migrate, openStore } from '@tegami/store';
import { FOLDERS, messageShapes } from './own-shapes.js';

const [url, users, count, password, maildirRoot] = process.argv.slice(2);
const shapes = messageShapes();

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
