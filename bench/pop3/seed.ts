// Fills Tegami's store for bench/pop3: users <prefix>0..N-1 in bench.test, each INBOX with
// the same messages (the shared corpus, repeated up to `count`), and writes the same
// messages as maildir files for Dovecot under `maildirRoot/<user>/new`.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addDomain, appendMessage, createAccount, findMailbox, migrate, openStore } from '@tegami/store';

const [url, users, count, password, maildirRoot] = process.argv.slice(2);
const corpus = new URL('../../../shared/corpus/', import.meta.url);
const messages = readdirSync(corpus)
  .filter((f) => f.endsWith('.eml') && f !== 'malformed.eml')
  .map((f) => readFileSync(new URL(f, corpus)));
const store = openStore({ url: url!, poolSize: 4 });
await migrate(store.pool);
await addDomain(store.pool, 'bench.test');
for (let u = 0; u < Number(users); u++) {
  const address = `pop${u}@bench.test`;
  const account = await createAccount(store.pool, address, password!);
  const inbox = await findMailbox(store.pool, account.id, 'INBOX');
  const dir = join(maildirRoot!, address, 'new');
  mkdirSync(dir, { recursive: true });
  for (const sub of ['cur', 'tmp']) mkdirSync(join(maildirRoot!, address, sub), { recursive: true });
  for (let i = 0; i < Number(count); i++) {
    const raw = messages[i % messages.length]!;
    await appendMessage(store.pool, { mailboxId: inbox!.id, raw });
    writeFileSync(join(dir, `${1_700_000_000 + i}.M${i}P1.bench,S=${raw.length}`), raw);
  }
}
await store.close();
