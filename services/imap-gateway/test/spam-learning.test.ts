import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { describeMessage } from '@tegami/protocol';
import { createRspamdClient } from '@tegami/rpc';
import { createLogger, createMetricsRegistry } from '@tegami/runtime';
import {
  addDomain,
  appendMessage,
  createAccount,
  findMailbox,
  migrate,
  openStore,
  type StorePool,
} from '@tegami/store';
import { createTestDatabase } from '@tegami/testing';
import type { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { learningOf, SpamLearning } from '../src/spam-learning.js';

// The learning queue against real Postgres (it reads the filed messages from the store)
// and an HTTP server standing in for an rspamd controller that is slow or failing, which
// a real rspamd cannot be told to be. test/spam-learning.test.ts runs it all with rspamd.

const SECRET_WORD = 'Zanzibar-7431';
let store: StorePool;
let junkId: string;
let uids: number[];

beforeAll(async () => {
  const database = await createTestDatabase();
  store = openStore({ url: database.url, poolSize: 8 });
  await migrate(store.pool);
  await addDomain(store.pool, 'example.test');
  const account = await createAccount(store.pool, 'alice@example.test', 'alice-password');
  const junk = await findMailbox(store.pool, account.id, 'Junk');
  junkId = junk!.id;
  uids = [];
  for (let i = 1; i <= 110; i++) {
    const raw = Buffer.from(
      `From: spammer@example.com\r\nTo: alice@example.test\r\nSubject: offer ${i}\r\n\r\nThe password is ${SECRET_WORD}, number ${i}.\r\n`,
    );
    const d = describeMessage(raw);
    const appended = await appendMessage(store.pool, {
      mailboxId: junkId,
      raw,
      flags: [],
      metadata: d.metadata,
      searchText: d.searchText,
    });
    uids.push(appended.uid);
  }
}, 60_000);

afterAll(async () => {
  await store?.close();
});

/** A controller that holds every learn until told how to answer, and counts how many it holds at once. */
async function controller(): Promise<{
  url: string;
  held: () => number;
  mostAtOnce: () => number;
  bodies: string[];
  answer(status: number, body: string): void;
  close(): Promise<void>;
}> {
  const waiting: { req: IncomingMessage; res: ServerResponse }[] = [];
  const bodies: string[] = [];
  let reply: { status: number; body: string } | undefined;
  let most = 0;
  const respond = (res: ServerResponse) => {
    res.writeHead(reply!.status, { 'Content-Type': 'application/json' });
    res.end(reply!.body);
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      bodies.push(body);
      if (reply) respond(res);
      else {
        waiting.push({ req, res });
        most = Math.max(most, waiting.length);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    held: () => waiting.length,
    mostAtOnce: () => most,
    bodies,
    answer(status, body) {
      reply = { status, body };
      for (const { res } of waiting.splice(0)) respond(res);
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

async function counts(metrics: Registry): Promise<Record<string, number>> {
  const metric = await metrics.getSingleMetric('tegami_spam_learn_total')!.get();
  return Object.fromEntries(metric.values.map((v) => [`${v.labels['kind']}/${v.labels['result']}`, v.value]));
}

async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function capturedLogger(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({
    service: 'imap-test',
    level: 'warn',
    destination: new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  });
  return { logger, lines };
}

describe('what filing a message teaches', () => {
  it('into Junk is spam, out of Junk is ham unless into Trash, anything else nothing', () => {
    expect(learningOf(null, '\\Junk')).toBe('spam');
    expect(learningOf('\\Archive', '\\Junk')).toBe('spam');
    expect(learningOf('\\Trash', '\\Junk')).toBe('spam');
    expect(learningOf('\\Junk', null)).toBe('ham');
    expect(learningOf('\\Junk', '\\Archive')).toBe('ham');
    expect(learningOf('\\Junk', '\\Trash')).toBeUndefined();
    expect(learningOf('\\Junk', '\\Junk')).toBeUndefined();
    expect(learningOf(null, '\\Trash')).toBeUndefined();
    expect(learningOf(null, null)).toBeUndefined();
    expect(learningOf('\\Sent', '\\Archive')).toBeUndefined();
  });
});

describe('the spam learning queue', () => {
  it('runs 4 learns at a time, keeps 100 waiting, drops and counts the rest, and never blocks the reporter', async () => {
    const rspamd = await controller();
    const metrics = createMetricsRegistry('imap-test');
    const { logger, lines } = capturedLogger();
    const learning = new SpamLearning({
      rspamd: createRspamdClient({ controllerUrl: rspamd.url, timeoutMs: 30_000 }),
      pool: store.pool,
      logger,
      metrics,
    });
    try {
      // report() returns nothing to wait for: queuing, synchronously, is all a command does.
      learning.report({
        kind: 'spam',
        account: 'alice@example.test',
        from: 'INBOX',
        to: 'Junk',
        mailboxId: junkId,
        uids,
      });
      expect(learning.busy).toBe(100);
      await waitUntil(() => rspamd.held() === 4);
      // Nothing more starts while those four run.
      await new Promise((r) => setTimeout(r, 300));
      expect(rspamd.held()).toBe(4);
      expect(learning.busy).toBe(100);
      expect(await counts(metrics)).toMatchObject({ 'spam/dropped': 10, 'spam/learned': 0 });
      expect(lines.join('')).toMatch(/too many learns waiting/);

      rspamd.answer(200, '{"success":true}');
      await waitUntil(() => learning.busy === 0);
      expect(rspamd.mostAtOnce()).toBe(4);
      expect(await counts(metrics)).toMatchObject({
        'spam/learned': 100,
        'spam/dropped': 10,
        'spam/failed': 0,
      });
      // What was learned is the stored message, byte for byte.
      expect(rspamd.bodies[0]).toContain(`The password is ${SECRET_WORD}, number 1.`);
    } finally {
      await learning.stop();
      await rspamd.close();
    }
  });

  it('counts already-learned and failures apart, and logs a failure with the account and mailboxes, never the message', async () => {
    const rspamd = await controller();
    const metrics = createMetricsRegistry('imap-test');
    const { logger, lines } = capturedLogger();
    const learning = new SpamLearning({
      rspamd: createRspamdClient({ controllerUrl: rspamd.url, timeoutMs: 30_000 }),
      pool: store.pool,
      logger,
      metrics,
    });
    const filed = {
      account: 'alice@example.test',
      from: 'Junk',
      to: 'Archive',
      mailboxId: junkId,
    };
    try {
      rspamd.answer(208, '{"error":"<x> has been already learned as ham, ignore it"}');
      learning.report({ ...filed, kind: 'ham', uids: uids.slice(0, 2) });
      await waitUntil(() => learning.busy === 0);
      rspamd.answer(500, '{"error":"cannot learn ham: redis error: connection refused"}');
      learning.report({ ...filed, kind: 'ham', uids: uids.slice(2, 5) });
      await waitUntil(() => learning.busy === 0);
      expect(await counts(metrics)).toMatchObject({ 'ham/already': 2, 'ham/failed': 3, 'ham/learned': 0 });
      const warnings = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(warnings).toHaveLength(3);
      expect(warnings[0]).toMatchObject({
        level: 'warn',
        account: 'alice@example.test',
        from: 'Junk',
        to: 'Archive',
        kind: 'ham',
        rspamdError: 'http',
        status: 500,
      });
      expect(String(warnings[0]!['reason'])).toContain('redis error');
      expect(lines.join('')).not.toContain(SECRET_WORD);
      expect(lines.join('')).not.toContain('offer');
    } finally {
      await learning.stop();
      await rspamd.close();
    }
  });

  it('drops what waits and aborts what runs when it stops, counting both as dropped', async () => {
    const rspamd = await controller();
    const metrics = createMetricsRegistry('imap-test');
    const { logger } = capturedLogger();
    const learning = new SpamLearning({
      rspamd: createRspamdClient({ controllerUrl: rspamd.url, timeoutMs: 30_000 }),
      pool: store.pool,
      logger,
      metrics,
    });
    try {
      learning.report({
        kind: 'spam',
        account: 'alice@example.test',
        from: 'INBOX',
        to: 'Junk',
        mailboxId: junkId,
        uids: uids.slice(0, 10),
      });
      await waitUntil(() => rspamd.held() === 4);
      const started = performance.now();
      await learning.stop();
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(learning.busy).toBe(0);
      expect(await counts(metrics)).toMatchObject({
        'spam/dropped': 10,
        'spam/failed': 0,
        'spam/learned': 0,
      });
      // After stop, a report is dropped at once.
      learning.report({
        kind: 'spam',
        account: 'alice@example.test',
        from: 'INBOX',
        to: 'Junk',
        mailboxId: junkId,
        uids: uids.slice(0, 1),
      });
      expect(learning.busy).toBe(0);
      expect(await counts(metrics)).toMatchObject({ 'spam/dropped': 11 });
    } finally {
      await rspamd.close();
    }
  });
});
