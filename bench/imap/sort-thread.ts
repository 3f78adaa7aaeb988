// SORT and THREAD (RFC 5256) on a big mailbox, through the IMAP engine on the in-memory
// store: no sockets or Postgres, so it measures the engine's own sorting and threading (base
// subjects, dates, display names, the References walk) and the answer's encoding. Prints the
// wall and CPU milliseconds of each command, after one warm-up round.
// Usage: node --conditions=tegami-source --import tsx bench/imap/sort-thread.ts [messages] [rounds]
import { ImapSession, type SaslIdentity } from '@tegami/protocol';
import { MemoryMailStore } from '@tegami/testing/memory-mail-store';
import { credentials, PASSWORD, USER } from '../../packages/protocol/src/imap/test-account.js';

const MESSAGES = Number(process.argv[2] ?? 10_000);
const ROUNDS = Number(process.argv[3] ?? 3);
const COMMANDS = [
  'SORT (SUBJECT DATE) UTF-8 ALL',
  'SORT (REVERSE ARRIVAL) UTF-8 ALL',
  'SORT (DISPLAYFROM SIZE) UTF-8 ALL',
  'SORT RETURN (MIN MAX COUNT) (FROM) UTF-8 ALL',
  'THREAD REFERENCES UTF-8 ALL',
  'THREAD ORDEREDSUBJECT UTF-8 ALL',
];

// Threads of up to 8 replies, subjects with Re:/[list] prefixes, encoded display names.
const store = new MemoryMailStore(['INBOX']);
for (let n = 1; n <= MESSAGES; n++) {
  const root = n - (n % 8);
  const parent =
    n % 8 === 0 ? '' : `In-Reply-To: <${n - 1}@bench>\r\nReferences: <${root}@bench> <${n - 1}@bench>\r\n`;
  const subject = `${n % 8 === 0 ? '' : 'Re: '}${n % 3 === 0 ? '[list] ' : ''}topic ${root % 997}`;
  const from =
    n % 5 === 0 ? `=?utf-8?q?J=C3=B6rg_${n % 89}?= <j${n}@bench>` : `"Person ${n % 97}" <p${n}@bench>`;
  const hour = String(n % 24).padStart(2, '0');
  store.deliver(
    'INBOX',
    Buffer.from(
      `Message-ID: <${n}@bench>\r\n${parent}Subject: ${subject}\r\nFrom: ${from}\r\n` +
        `Date: Mon, 1 Jun 2026 ${hour}:00:00 +0${n % 9}00\r\n\r\nbody ${n}\r\n`,
    ),
  );
}

let output = '';
const session = new ImapSession(
  {
    hostname: 'imap.bench.test',
    tls: 'starttls',
    plaintextAllowed: true,
    realms: () => ['example.org'],
    maxMessageSize: 50_000_000,
  },
  {
    lookupCredentials: async () => credentials(),
    openAccount: async (identity: SaslIdentity) => store.account(identity.address),
  },
  (chunk) => {
    output += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('latin1');
  },
);

async function say(line: string): Promise<string> {
  output = '';
  await session.receive(Buffer.from(`${line}\r\n`));
  return output;
}

await credentials();
await say(`a LOGIN ${USER} ${PASSWORD}`);
const selected = await say('b SELECT INBOX');
if (!/b OK/.test(selected)) throw new Error(`SELECT failed: ${selected}`);
console.log(`${MESSAGES} messages, ${ROUNDS} rounds after a warm-up; milliseconds per command`);
for (let round = 0; round <= ROUNDS; round++) {
  for (const command of COMMANDS) {
    const cpu = process.cpuUsage();
    const started = performance.now();
    const answer = await say(`c ${command}`);
    const wall = performance.now() - started;
    const used = process.cpuUsage(cpu);
    if (!/\r\nc OK /.test(answer)) throw new Error(`${command}: ${answer.slice(-200)}`);
    if (round > 0)
      console.log(
        `round ${round}  ${command.padEnd(46)} wall ${wall.toFixed(0).padStart(5)}  cpu ${((used.user + used.system) / 1000).toFixed(0).padStart(5)}`,
      );
  }
}
session.end();
