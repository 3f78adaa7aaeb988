import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ehlo, SAMPLE, sendData } from './smtp-client.js';
import { DOMAIN, queueIdOf, startTestIngress, type TestIngress } from './test-ingress.js';

let t: TestIngress;
beforeAll(async () => {
  t = await startTestIngress();
});
afterAll(() => t.stop());

async function deliverable(): Promise<number> {
  const result = await t.store.pool.query(`SELECT count(*)::int AS n FROM queue WHERE state = 'queued'`);
  return result.rows[0].n;
}

async function rows(): Promise<number> {
  return (await t.store.pool.query(`SELECT count(*)::int AS n FROM queue`)).rows[0].n;
}

async function transaction() {
  const client = await ehlo(t.ports.mx);
  await client.command('MAIL FROM:<x@elsewhere.example>');
  await client.command(`RCPT TO:<bob@${DOMAIN}>`);
  return client;
}

describe('nothing acknowledged is lost, nothing refused is delivered', () => {
  it('answers 451 while NATS is down, leaves no deliverable message, and takes the retry after', async () => {
    const before = await deliverable();
    const rowsBefore = await rows();
    const client = await transaction();
    t.natsProxy.cut();
    const refused = await sendData(client, SAMPLE);
    expect(refused.text).toBe('451 4.3.0 Temporary failure storing the message; try again later');
    expect(await deliverable()).toBe(before);
    // Rolled back with the publish: no row of any state is left for a sweep.
    expect(await rows()).toBe(rowsBefore);
    t.natsProxy.restore();
    // The same client retries the same message in the same session, as MTAs do.
    await client.command('MAIL FROM:<x@elsewhere.example>');
    await client.command(`RCPT TO:<bob@${DOMAIN}>`);
    let accepted = await sendData(client, SAMPLE);
    for (let i = 0; accepted.code !== 250 && i < 20; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      await client.command('MAIL FROM:<x@elsewhere.example>');
      await client.command(`RCPT TO:<bob@${DOMAIN}>`);
      accepted = await sendData(client, SAMPLE);
    }
    expect(accepted.code).toBe(250);
    await t.waitForJob(queueIdOf(accepted.text));
    expect(await deliverable()).toBe(before + 1);
    client.close();
  }, 30_000);

  it('answers 451 while Postgres is down and takes the retry after', async () => {
    const client = await transaction();
    t.pgProxy.cut();
    const refused = await sendData(client, SAMPLE);
    expect(refused.code).toBe(451);
    t.pgProxy.restore();
    const retry = await transaction();
    const accepted = await sendData(retry, SAMPLE);
    expect(accepted.code).toBe(250);
    const queued = await t.queued(queueIdOf(accepted.text));
    expect(queued?.state).toBe('queued');
    client.close();
    retry.close();
  }, 30_000);
  it('accepts concurrent sessions together, each 250 with its row and job, and refuses them together when NATS is down', async () => {
    const sessions = await Promise.all(Array.from({ length: 6 }, () => transaction()));
    // Their DATA ends at once: the acceptances share transactions (the group commit).
    const replies = await Promise.all(sessions.map((client, i) => sendData(client, `${SAMPLE}n=${i}\r\n`)));
    expect(replies.map((r) => r.code)).toEqual([250, 250, 250, 250, 250, 250]);
    const ids = replies.map((r) => queueIdOf(r.text));
    expect(new Set(ids).size).toBe(6);
    for (const [i, id] of ids.entries()) {
      const queued = await t.queued(id);
      expect(queued?.state).toBe('queued');
      expect(queued?.raw.toString()).toContain(`n=${i}\r\n`);
      await t.waitForJob(id);
    }

    const before = await rows();
    for (const client of sessions) {
      await client.command('MAIL FROM:<x@elsewhere.example>');
      await client.command(`RCPT TO:<bob@${DOMAIN}>`);
    }
    t.natsProxy.cut();
    const refused = await Promise.all(sessions.map((client) => sendData(client, SAMPLE)));
    expect(refused.map((r) => r.code)).toEqual([451, 451, 451, 451, 451, 451]);
    expect(await rows()).toBe(before);
    t.natsProxy.restore();
    for (const client of sessions) client.close();
  });
});
