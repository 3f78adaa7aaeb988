// The SQL statements of bench/pop3's workload, counted (a deterministic measure beside the
// noisy rates): one user, [logins] sessions one after the other, each USER/PASS, STAT,
// RETR of every one of [messages] messages and QUIT, against the pop-gateway in-process
// with its pool wrapped. Prints statements per login (connect to PASS accepted), per RETR,
// and per QUIT, by statement kind.
// Usage: node --conditions=tegami-source --import tsx bench/pop3/statements.ts [logins] [messages] [size]
import { connect } from 'node:net';
import { createMemoryBus } from '@tegami/bus';
import { createLogger, createMetricsRegistry } from '@tegami/runtime';
import { addDomain, appendMessage, createAccount, findMailbox, migrate, openStore } from '@tegami/store';
import { createTestDatabase } from '@tegami/testing';
import { startPopGateway } from '../../services/pop-gateway/src/pop-gateway.js';

const [logins = '3', messages = '100', size = '10240'] = process.argv.slice(2);
const database = await createTestDatabase();
const store = openStore({ url: database.url, poolSize: 4 });
await migrate(store.pool);
await addDomain(store.pool, 'bench.test');
const account = await createAccount(store.pool, 'pop0@bench.test', 'bench-password');
const inbox = await findMailbox(store.pool, account.id, 'INBOX');
for (let i = 0; i < Number(messages); i++) {
  const body = `${'x'.repeat(72)}\r\n`.repeat(Math.ceil(Number(size) / 74));
  await appendMessage(store.pool, { mailboxId: inbox!.id, raw: Buffer.from(`Subject: ${i}\r\n\r\n${body}`) });
}

let phase = 'setup';
const counts = new Map<string, Map<string, number>>();
const counted = new Proxy(store.pool, {
  get(target, key) {
    if (key === 'query')
      return (...args: unknown[]) => {
        const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text: string }).text;
        const kind = text.trim().split(/\s+/).slice(0, 3).join(' ');
        const byKind = counts.get(phase) ?? new Map<string, number>();
        byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
        counts.set(phase, byKind);
        return (target.query as (...a: unknown[]) => unknown)(...args);
      };
    const value = Reflect.get(target, key);
    return typeof value === 'function' ? value.bind(target) : value;
  },
});

const gateway = await startPopGateway({
  pool: counted,
  bus: createMemoryBus(),
  logger: createLogger({ service: 'pop-statements', level: 'warn' }),
  metrics: createMetricsRegistry('pop-statements'),
  hostname: 'pop.bench.test',
  host: '127.0.0.1',
  popPort: 0,
  popsPort: undefined,
  tls: undefined,
  idleTimeoutMs: 60_000,
  maxConnections: 10,
  maxConnectionsPerIp: 10,
  allowPlaintextAuth: true,
});

function session(): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(gateway.ports.pop!, '127.0.0.1');
    let buffer = Buffer.alloc(0);
    let step = 'greeting';
    let next = 1;
    const send = (line: string) => socket.write(`${line}\r\n`);
    socket.on('error', reject);
    socket.on('close', () => resolve());
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (step === 'retr') {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          buffer = buffer.subarray(end + 5);
          if (next > Number(messages)) {
            step = 'quit';
            phase = 'QUIT';
            send('QUIT');
          } else send(`RETR ${next++}`);
          continue;
        }
        const eol = buffer.indexOf('\r\n');
        if (eol < 0) return;
        const line = buffer.subarray(0, eol).toString();
        buffer = buffer.subarray(eol + 2);
        if (!line.startsWith('+OK')) return reject(new Error(line));
        if (step === 'greeting') {
          phase = 'login';
          step = 'user';
          send('USER pop0@bench.test');
        } else if (step === 'user') {
          step = 'pass';
          send('PASS bench-password');
        } else if (step === 'pass') {
          phase = 'RETR';
          step = 'stat';
          send('STAT');
        } else if (step === 'stat') {
          step = 'retr';
          send(`RETR ${next++}`);
        } else if (step === 'quit') {
          socket.end();
          return;
        }
      }
    });
  });
}

for (let i = 0; i < Number(logins); i++) await session();
await new Promise((resolve) => setTimeout(resolve, 500)); // the writes done after an answer
const per = { login: Number(logins), RETR: Number(logins) * Number(messages), QUIT: Number(logins) };
for (const [name, n] of Object.entries(per)) {
  const byKind = counts.get(name) ?? new Map();
  const total = [...byKind.values()].reduce((a, b) => a + b, 0);
  console.log(`${name}: ${(total / n).toFixed(3)} statements each (${total} over ${n})`);
  for (const [kind, count] of byKind) console.log(`  ${count}  ${kind}`);
}
await gateway.stop();
await store.close();
await database.drop();
