import { srsForward } from '@tegami/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ehlo, SAMPLE, sendData } from './smtp-client.js';
import { DOMAIN, queueIdOf, startTestIngress, type TestIngress } from './test-ingress.js';

/** The SRS address of a sender that SRS can carry. */
function srsAddress(...args: Parameters<typeof srsForward>): string {
  const result = srsForward(...args);
  if (result.kind === 'unsuitable') throw new Error(`SRS cannot carry ${args[0]}`);
  return result.address;
}

// RCPT to an SRS address of a local domain: a bounce of mail an alias forwarded (the
// delivery-worker sent it from SRS0=…@example.test). Taken, for the original sender, only
// when we signed it and it is not older than 21 days.

const SECRETS = ['the-current-srs-secret', 'the-previous-srs-secret'];
const day = 86_400_000;
const srsOf = (sender: string, secret = SECRETS[0]!, at = new Date()) =>
  srsAddress(sender, DOMAIN, { secrets: [secret] }, at);

let t: TestIngress;
let off: TestIngress;
beforeAll(async () => {
  [t, off] = await Promise.all([startTestIngress({ srs: { secrets: SECRETS } }), startTestIngress()]);
});
afterAll(async () => {
  await t?.stop();
  await off?.stop();
});

async function rcpt(ingress: TestIngress, to: string, from = '') {
  const client = await ehlo(ingress.ports.mx);
  try {
    expect((await client.command(`MAIL FROM:<${from}>`)).code).toBe(250);
    return await client.command(`RCPT TO:<${to}>`);
  } finally {
    client.close();
  }
}

describe('bounces to SRS addresses', () => {
  it('takes a bounce to an SRS0 address for the original sender, the SRS address as its ORCPT', async () => {
    const srs = srsOf('Carol.Sender@origin.example');
    const client = await ehlo(t.ports.mx);
    try {
      expect((await client.command('MAIL FROM:<>')).code).toBe(250);
      expect((await client.command(`RCPT TO:<${srs}>`)).text).toBe('250 2.1.5 Ok');
      expect((await client.command(`RCPT TO:<bob@${DOMAIN}>`)).code).toBe(250);
      const reply = await sendData(client, SAMPLE);
      expect(reply.code).toBe(250);
      const queued = await t.queued(queueIdOf(reply.text));
      expect(queued?.sender).toBe('');
      expect(queued?.recipients.map((r) => [r.address, r.orcpt]).sort()).toEqual([
        [`bob@${DOMAIN}`, null],
        ['carol.sender@origin.example', `rfc822;${srs}`],
      ]);
    } finally {
      client.close();
    }
  });

  it('keeps an ORCPT the client gave', async () => {
    const srs = srsOf('dave@origin.example');
    const client = await ehlo(t.ports.mx);
    try {
      expect((await client.command('MAIL FROM:<>')).code).toBe(250);
      expect((await client.command(`RCPT TO:<${srs}> ORCPT=rfc822;first@hop.example`)).code).toBe(250);
      const reply = await sendData(client, SAMPLE);
      const queued = await t.queued(queueIdOf(reply.text));
      expect(queued?.recipients.map((r) => [r.address, r.orcpt])).toEqual([
        ['dave@origin.example', 'rfc822;first@hop.example'],
      ]);
    } finally {
      client.close();
    }
  });

  it('takes one signed with an older secret of the file, and from any sender (an auto-reply)', async () => {
    expect((await rcpt(t, srsOf('erin@origin.example', SECRETS[1]), 'robot@elsewhere.example')).code).toBe(
      250,
    );
  });

  it('takes an SRS1 address back to the previous forwarder’s SRS0', async () => {
    const hop1 = 'SRS0=abcd=XY=other.example=carol@hop1.example';
    const client = await ehlo(t.ports.mx);
    try {
      expect((await client.command('MAIL FROM:<>')).code).toBe(250);
      expect((await client.command(`RCPT TO:<${srsOf(hop1)}>`)).code).toBe(250);
      const reply = await sendData(client, SAMPLE);
      const queued = await t.queued(queueIdOf(reply.text));
      expect(queued?.recipients.map((r) => r.address)).toEqual([hop1.toLowerCase()]);
    } finally {
      client.close();
    }
  });

  it('takes one up to 21 days old and refuses it on the 22nd', async () => {
    expect(
      (await rcpt(t, srsOf('frank@origin.example', SECRETS[0], new Date(Date.now() - 21 * day)))).code,
    ).toBe(250);
    expect(
      (await rcpt(t, srsOf('frank@origin.example', SECRETS[0], new Date(Date.now() - 22 * day)))).text,
    ).toBe(
      `550 5.1.1 <${srsOf('frank@origin.example', SECRETS[0], new Date(Date.now() - 22 * day))}>: Recipient address rejected: SRS address has expired (bounces are accepted for 21 days)`,
    );
  });

  it('refuses a forged one with 550 5.1.1: we relay only to addresses we signed', async () => {
    const forged = srsOf('victim@elsewhere.example', 'a-secret-that-is-not-ours');
    expect((await rcpt(t, forged)).text).toBe(
      `550 5.1.1 <${forged}>: Recipient address rejected: SRS address with an invalid signature (not one of ours)`,
    );
    const tampered = srsOf('victim@elsewhere.example').replace('victim', 'victin');
    expect((await rcpt(t, tampered)).code).toBe(550);
    const malformed = `SRS0=abcd=XY@${DOMAIN}`;
    expect((await rcpt(t, malformed)).text).toBe(
      `550 5.1.1 <${malformed}>: Recipient address rejected: not a valid SRS address`,
    );
  });

  it('treats an SRS address of another domain as any remote address (no relay)', async () => {
    const srs = srsOf('carol@origin.example').replace(`@${DOMAIN}`, '@elsewhere.example');
    expect((await rcpt(t, srs)).text).toBe(`554 5.7.1 <${srs}>: Relay access denied`);
  });

  it('without a secret, knows no SRS address', async () => {
    const srs = srsOf('carol@origin.example');
    expect((await rcpt(off, srs)).text).toBe(`550 5.1.1 <${srs}>: Recipient address rejected: User unknown`);
  });
});
