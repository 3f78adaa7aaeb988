// Fills Tegami's store for bench/imap: one user in bench.test whose INBOX holds `count`
// messages (the shared corpus repeated, each made unique by an X-Bench-Seq header), and
// writes the same messages as a maildir for Dovecot under `maildirRoot/<user>`.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeMessage } from '@tegami/protocol';
import { addDomain, appendMessage, createAccount, findMailbox, migrate, openStore } from '@tegami/store';

const [url, user, count, password, maildirRoot] = process.argv.slice(2);
const corpus = new URL('../../../shared/corpus/', import.meta.url);
const messages = readdirSync(corpus)
  .filter((f) => f.endsWith('.eml') && f !== 'malformed.eml')
  .map((f) => readFileSync(new URL(f, corpus)));
const store = openStore({ url: url!, poolSize: 4 });
await migrate(store.pool);
await addDomain(store.pool, 'bench.test');
const account = await createAccount(store.pool, user!, password!);
const inbox = await findMailbox(store.pool, account.id, 'INBOX');
const dir = join(maildirRoot!, user!);
for (const sub of ['new', 'cur', 'tmp']) mkdirSync(join(dir, sub), { recursive: true });
for (let i = 0; i < Number(count); i++) {
  const raw = Buffer.concat([Buffer.from(`X-Bench-Seq: ${i}\r\n`), messages[i % messages.length]!]);
  const d = describeMessage(raw);
  await appendMessage(store.pool, {
    mailboxId: inbox!.id,
    raw,
    flags: i % 3 === 0 ? [] : ['\\Seen'],
    metadata: d.metadata,
    searchText: d.searchText,
  });
  // Maildir: the same flags (",S" = \Seen) in cur/.
  writeFileSync(
    join(dir, 'cur', `${1_700_000_000 + i}.M${i}P1.bench,S=${raw.length}:2,${i % 3 === 0 ? '' : 'S'}`),
    raw,
  );
}
// No message is \Recent at the start on either side.
await store.pool.query('UPDATE mailboxes SET recent_uid = uidnext WHERE id = $1', [inbox!.id]);
await store.close();
