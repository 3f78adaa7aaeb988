// Fills Tegami's store for bench/pop3: users <prefix>0..N-1 in bench.test, each INBOX with
// `count` messages, and writes the same messages as maildir files for Dovecot under
// `maildirRoot/<user>/new`. With `size` (bytes), each message is a plain-text message of
// about that size (the workload: 10 KB); without it, the shared corpus repeated.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setScryptCost } from '@tegami/protocol';
import { addDomain, appendMessage, createAccount, findMailbox, migrate, openStore } from '@tegami/store';

const [url, users, count, password, maildirRoot, size] = process.argv.slice(2);
const corpus = new URL('../../../shared/corpus/', import.meta.url);
const corpusMessages = readdirSync(corpus)
  .filter((f) => f.endsWith('.eml') && f !== 'malformed.eml')
  .map((f) => readFileSync(new URL(f, corpus)));

/** A text message of about `bytes` bytes, different for each n (so no two blobs are one). */
function sizedMessage(n: number, bytes: number): Buffer {
  const header =
    `From: Sender ${n} <sender${n}@example.net>\r\nTo: reader@bench.test\r\n` +
    `Subject: bench message ${n}\r\nDate: Thu, 03 Dec 2026 12:00:00 +0000\r\n` +
    `Message-ID: <bench-${n}@example.net>\r\nMIME-Version: 1.0\r\n` +
    'Content-Type: text/plain; charset=us-ascii\r\n\r\n';
  const lines: string[] = [];
  let length = header.length;
  for (let i = 0; length < bytes; i++) {
    const line = `${n}:${i} ${'lorem ipsum dolor sit amet consectetur '.repeat(2)}`.slice(0, 74);
    lines.push(line);
    length += line.length + 2;
  }
  return Buffer.from(`${header}${lines.join('\r\n')}\r\n`);
}

// The verifiers at the cost the gateway is given, so its logins do not start by rehashing.
if (process.env['TEGAMI_PASSWORD_SCRYPT_LN']) setScryptCost(Number(process.env['TEGAMI_PASSWORD_SCRYPT_LN']));
const store = openStore({ url: url!, poolSize: 8 });
await migrate(store.pool);
await addDomain(store.pool, 'bench.test');

async function seedUser(u: number): Promise<void> {
  const address = `pop${u}@bench.test`;
  const account = await createAccount(store.pool, address, password!);
  const inbox = await findMailbox(store.pool, account.id, 'INBOX');
  const dir = join(maildirRoot!, address, 'new');
  mkdirSync(dir, { recursive: true });
  for (const sub of ['cur', 'tmp']) mkdirSync(join(maildirRoot!, address, sub), { recursive: true });
  for (let i = 0; i < Number(count); i++) {
    const raw = size
      ? sizedMessage(u * Number(count) + i, Number(size))
      : corpusMessages[i % corpusMessages.length]!;
    await appendMessage(store.pool, { mailboxId: inbox!.id, raw });
    writeFileSync(join(dir, `${1_700_000_000 + i}.M${i}P1.bench,S=${raw.length}`), raw);
  }
}

// Eight users at a time: seeding is not what is measured, and it should not take minutes.
const pending = Array.from({ length: Number(users) }, (_, u) => u);
await Promise.all(
  Array.from({ length: 8 }, async () => {
    for (let u = pending.shift(); u !== undefined; u = pending.shift()) await seedUser(u);
  }),
);
await store.close();
