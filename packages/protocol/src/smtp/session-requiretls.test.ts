import { describe, expect, it } from 'vitest';
import { chunksSource } from './byte-source.js';
import { reply } from './reply.js';
import { SmtpSession } from './session.js';
import type { SmtpEnvelope, SmtpSessionConfig, SmtpSessionHooks } from './session-types.js';

// RFC 8689: REQUIRETLS is offered and accepted only on a TLS session.

const CONFIG: SmtpSessionConfig = {
  hostname: 'mx.example.org',
  role: 'mx',
  tls: 'starttls',
  allowPlaintextAuth: false,
  maxMessageBytes: 10_000,
  maxRecipients: 3,
  maxCommandLineBytes: 1000,
  commandTimeoutMs: 1000,
  dataTimeoutMs: 1000,
  maxErrors: 10,
  realms: () => ['example.org'],
};

/**
 * Runs a session: `plain` is what the client sends before STARTTLS, `secure` what it sends
 * over the (pretend) TLS layer once the session has said 220 to STARTTLS.
 */
async function converse(plain: string, secure: string | undefined, config: Partial<SmtpSessionConfig> = {}) {
  let output = '';
  const delivered: SmtpEnvelope[] = [];
  const hooks: SmtpSessionHooks = {
    send: (text) => {
      output += text;
    },
    startTls: async () => (secure === undefined ? null : chunksSource([secure])),
    lookupCredentials: async () => undefined,
    checkSender: async () => undefined,
    postmasterDomain: async () => 'example.org',
    checkRecipient: async () => undefined,
    deliver: async (_client, envelope) => {
      delivered.push(envelope);
      return reply(250, '2.0.0', 'Ok: queued as TEST');
    },
    penalise: async () => ({ delayMs: 0, disconnect: false }),
  };
  await new SmtpSession({ ...CONFIG, ...config }, hooks, chunksSource([plain]), '192.0.2.1').run();
  return { lines: output.split('\r\n'), delivered };
}

const TRANSACTION =
  'MAIL FROM:<alice@example.net> REQUIRETLS\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\n';

describe('SmtpSession and REQUIRETLS (RFC 8689)', () => {
  it('offers REQUIRETLS only in the EHLO reply after STARTTLS', async () => {
    const { lines } = await converse('EHLO c.example.net\r\nSTARTTLS\r\n', 'EHLO c.example.net\r\nQUIT\r\n');
    const ready = lines.indexOf('220 2.0.0 Ready to start TLS');
    expect(ready).toBeGreaterThan(0);
    expect(lines.slice(0, ready)).toContain('250-STARTTLS');
    expect(lines.slice(0, ready).some((l) => l.includes('REQUIRETLS'))).toBe(false);
    expect(lines.slice(ready)).toContain('250-REQUIRETLS');
    expect(lines.slice(ready)).not.toContain('250-STARTTLS');
  });

  it('offers REQUIRETLS at once on implicit TLS (465)', async () => {
    const { lines } = await converse('EHLO c.example.net\r\nQUIT\r\n', undefined, { tls: 'implicit' });
    expect(lines).toContain('250-REQUIRETLS');
  });

  it('never offers REQUIRETLS where there is no TLS', async () => {
    const { lines } = await converse('EHLO c.example.net\r\nQUIT\r\n', undefined, { tls: 'unavailable' });
    expect(lines.some((l) => l.includes('REQUIRETLS'))).toBe(false);
  });

  it('refuses MAIL FROM with REQUIRETLS in clear with 530 5.7.10, and takes it after STARTTLS', async () => {
    const { lines, delivered } = await converse(
      'EHLO c.example.net\r\nMAIL FROM:<alice@example.net> REQUIRETLS\r\nSTARTTLS\r\n',
      `EHLO c.example.net\r\n${TRANSACTION}QUIT\r\n`,
    );
    expect(lines).toContain('530 5.7.10 REQUIRETLS needs a TLS session: issue STARTTLS first');
    expect(lines.slice(lines.indexOf('220 2.0.0 Ready to start TLS'))).toContain('250 2.1.0 Ok');
    expect(delivered).toHaveLength(1);
    expect(delivered[0]!.mailParams.requireTls).toBe(true);
  });

  it('answers 555 to REQUIRETLS where the service has no TLS at all', async () => {
    const { lines, delivered } = await converse(`EHLO c.example.net\r\n${TRANSACTION}`, undefined, {
      tls: 'unavailable',
    });
    expect(lines).toContain('555 5.5.4 REQUIRETLS not supported: this service has no TLS');
    expect(delivered).toHaveLength(0);
  });

  it('records no REQUIRETLS for a transaction over TLS that did not ask for it', async () => {
    const { delivered } = await converse(
      `EHLO c.example.net\r\n${TRANSACTION.replace(' REQUIRETLS', '')}QUIT\r\n`,
      undefined,
      { tls: 'implicit' },
    );
    expect(delivered).toHaveLength(1);
    expect(delivered[0]!.mailParams.requireTls).toBeUndefined();
  });

  it('refuses REQUIRETLS given twice or with a value, over TLS too', async () => {
    const { lines } = await converse(
      'EHLO c.example.net\r\nMAIL FROM:<a@example.net> REQUIRETLS REQUIRETLS\r\nMAIL FROM:<a@example.net> REQUIRETLS=1\r\nQUIT\r\n',
      undefined,
      { tls: 'implicit' },
    );
    expect(lines).toContain('501 5.5.4 Duplicate parameter REQUIRETLS');
    expect(lines).toContain('501 5.5.4 REQUIRETLS takes no value');
  });
});
