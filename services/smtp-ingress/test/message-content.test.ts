import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ehlo, sendData } from './smtp-client.js';
import { DOMAIN, queueIdOf, startTestIngress, type TestIngress } from './test-ingress.js';

// What the README's SMTP section promises about the bytes of a message: a NUL is refused,
// a DATA line of any length is kept as it came, a command line is at most 1000 octets.

let t: TestIngress;
beforeAll(async () => {
  t = await startTestIngress();
});
afterAll(() => t.stop());

const BOB = `bob@${DOMAIN}`;

async function queueCount(): Promise<number> {
  return (await t.store.pool.query('SELECT count(*)::int AS n FROM queue')).rows[0].n;
}

describe('NUL', () => {
  it('refuses a message with a NUL in DATA on port 25 with 550 5.6.0, stores nothing, and goes on', async () => {
    const before = await queueCount();
    const client = await ehlo(t.ports.mx);
    await client.command('MAIL FROM:<x@elsewhere.example>');
    await client.command(`RCPT TO:<${BOB}>`);
    expect((await sendData(client, 'Subject: nul\r\n\r\nbefore\0after\r\n')).text).toBe(
      '550 5.6.0 Error: NUL character in message: refused (RFC 2045 section 2.8)',
    );
    expect((await client.command('NOOP')).code).toBe(250);
    expect(await queueCount()).toBe(before);
    client.close();
  });

  it('refuses a BDAT message with a NUL in a header the same way', async () => {
    const before = await queueCount();
    const client = await ehlo(t.ports.mx);
    await client.command('MAIL FROM:<x@elsewhere.example>');
    await client.command(`RCPT TO:<${BOB}>`);
    const message = 'Subject: n\0l\r\n\r\nbody\r\n';
    client.write(`BDAT ${Buffer.byteLength(message)} LAST\r\n${message}`);
    expect((await client.readReply()).text).toBe(
      '550 5.6.0 Error: NUL character in message: refused (RFC 2045 section 2.8)',
    );
    expect((await client.command('NOOP')).code).toBe(250);
    expect(await queueCount()).toBe(before);
    client.close();
  });
});

describe('line lengths', () => {
  it('stores DATA lines of 1,200 and 900,000 octets exactly as they came', async () => {
    const client = await ehlo(t.ports.mx);
    for (const length of [1_200, 900_000]) {
      const line = `${'0123456789'.repeat(length / 10 - 1)}.........$`;
      await client.command('MAIL FROM:<x@elsewhere.example>');
      await client.command(`RCPT TO:<${BOB}>`);
      // A leading dot, stuffed on the wire, to show the line is read as one line.
      const done = await sendData(client, `Subject: ${length}\r\n\r\n.${line}\r\n`);
      expect(done.code, done.text).toBe(250);
      const stored = (await t.queued(queueIdOf(done.text)))!.raw.toString('latin1');
      expect(stored.endsWith(`\r\nSubject: ${length}\r\n\r\n.${line}\r\n`)).toBe(true);
    }
    client.close();
  });

  it('takes a command line of 1000 octets with its CRLF and refuses one octet more with 500 5.5.2', async () => {
    const client = await ehlo(t.ports.mx);
    expect((await client.command(`NOOP ${'x'.repeat(993)}`)).text).toBe('250 2.0.0 Ok');
    expect((await client.command(`NOOP ${'x'.repeat(994)}`)).text).toBe('500 5.5.2 Error: line too long');
    expect((await client.command('NOOP')).text).toBe('250 2.0.0 Ok');
    client.close();
  });
});
