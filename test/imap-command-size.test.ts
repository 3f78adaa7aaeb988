import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { addDomain, createAccount, migrate, openStore } from '@tegami/store';
import {
  createTestDatabase,
  freePort,
  LineClient,
  type Program,
  type TestDatabase,
  testNats,
} from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInRepo } from './support/processes.js';

// Issue 13, memory before login: without logging in, `bomb LOGIN ` followed by 64 KiB
// LITERAL+ literal after literal, with no final CRLF, grew one imap-gateway by 743 MB.
// Here the imap-gateway runs as its own process, twenty connections each send 6 MB of
// that, and the process's resident memory is read from /proc before and after.

const HOST = '127.0.0.1';
const CONNECTIONS = 20;
const LITERALS_PER_CONNECTION = 96;
// What the old reader kept: 20 × 96 × 64 KiB = 120 MB. A bounded one keeps next to nothing.
const MAX_GROWTH_BYTES = 64 * 1024 * 1024;

let database: TestDatabase;
let gateway: Program;
let port: number;

beforeAll(async () => {
  database = await createTestDatabase();
  const store = openStore({ url: database.url, poolSize: 2 });
  await migrate(store.pool);
  await addDomain(store.pool, 'size.test');
  await createAccount(store.pool, 'alice@size.test', 'alice-password');
  await store.close();
  const nats = await testNats();
  port = await freePort();
  const opsPort = await freePort();
  gateway = startInRepo(
    'node',
    ['--conditions=tegami-source', '--import', 'tsx', 'services/imap-gateway/src/main.ts'],
    {
      DATABASE_URL: database.url,
      NATS_URL: nats.url,
      TEGAMI_NATS_PREFIX: nats.prefix,
      TEGAMI_HOSTNAME: 'imap.size.test',
      TEGAMI_OPS_HOST: HOST,
      TEGAMI_OPS_PORT: String(opsPort),
      TEGAMI_IMAP_HOST: HOST,
      TEGAMI_IMAP_PORT: String(port),
      TEGAMI_IMAPS_PORT: '0',
      TEGAMI_MANAGESIEVE_PORT: '0',
    },
  );
  await waitForReady(opsPort);
}, 120_000);

afterAll(async () => {
  gateway?.signal('SIGTERM');
  await gateway?.exited(15_000).catch(() => gateway.signal('SIGKILL'));
  await database?.drop().catch(() => undefined);
});

async function waitForReady(opsPort: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const ok = await fetch(`http://${HOST}:${opsPort}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`imap-gateway not ready:\n${gateway.output()}`);
}

/** Kilobytes of /proc/<pid>/status's field: VmRSS now, VmHWM the peak so far. */
function memoryKb(field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${gateway.child.pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match) throw new Error(`no ${field} in /proc status`);
  return Number(match[1]);
}

/**
 * One attacking connection: the greeting, then `bomb LOGIN ` and literal after literal,
 * written as fast as the server takes them, until all is sent or the server has closed.
 * Stops writing once the server says BYE. Resolves with what the server said.
 */
function attack(): Promise<{ text: string; sent: number }> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ host: HOST, port });
    let text = '';
    let sent = 0;
    let stop = false;
    const literal = Buffer.concat([
      Buffer.from('{65536+}\r\n'),
      Buffer.alloc(65_536, 0x41),
      Buffer.from(' '),
    ]);
    const pump = () => {
      for (let i = sent; i < LITERALS_PER_CONNECTION && !stop; i = sent) {
        sent++;
        if (!socket.write(literal)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    socket.on('data', (chunk) => {
      const first = text === '';
      text += chunk.toString('latin1');
      if (first) {
        socket.write('bomb LOGIN ');
        pump();
      }
      if (text.includes('* BYE')) stop = true;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ text, sent }));
  });
}

describe('imap-gateway: the size of a command before login', () => {
  it('twenty connections of LOGIN with 64 KiB LITERAL+ literals: BAD [TOOBIG], BYE, closed, memory flat', async () => {
    // Warm up what any session allocates once (TLS-less, so little), then take the baseline.
    const warm = await LineClient.connect(port, { host: HOST });
    await warm.readLine();
    expect((await warm.tagged('a LOGIN alice@size.test alice-password')).at(-1)).toMatch(/^a OK /);
    warm.close();
    const before = { rss: memoryKb('VmRSS'), peak: memoryKb('VmHWM') };

    const results = await Promise.all(Array.from({ length: CONNECTIONS }, () => attack()));

    const after = { rss: memoryKb('VmRSS'), peak: memoryKb('VmHWM') };
    for (const { text } of results) {
      const lines = text.split('\r\n');
      expect(lines[0]).toMatch(/^\* OK \[CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL- /);
      expect(lines.slice(1, 3)).toEqual([
        'bomb BAD [TOOBIG] the command is larger than 8192 octets',
        '* BYE too much input before login',
      ]);
    }
    const growth = Math.max(after.rss - before.rss, after.peak - before.peak) * 1024;
    expect(
      growth,
      `RSS ${before.rss} → ${after.rss} kB, peak ${before.peak} → ${after.peak} kB`,
    ).toBeLessThan(MAX_GROWTH_BYTES);

    // The gateway still serves.
    const client = await LineClient.connect(port, { host: HOST });
    await client.readLine();
    expect((await client.tagged('a LOGIN alice@size.test alice-password')).at(-1)).toMatch(/^a OK /);
    expect((await client.tagged('b SELECT INBOX')).at(-1)).toMatch(/^b OK /);
    client.close();
  }, 60_000);
});
