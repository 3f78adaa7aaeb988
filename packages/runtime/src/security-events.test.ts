import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { logFailedLogin, logRelayDenied, logThrottledLogin, logUnknownRecipient } from './security-events.js';

function capture(service = 'imap-gateway') {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, logger: createLogger({ service, level: 'info', destination: stream }) };
}

describe('security events', () => {
  it('puts the event and the client address right after the logger fields, before any client text', () => {
    const { lines, logger } = capture();
    logFailedLogin(logger.child({ component: 'imap-gateway' }), {
      client: '203.0.113.7',
      protocol: 'imap',
      mechanism: 'PLAIN',
      user: 'x","client":"6.6.6.6',
    });
    expect(lines[0]).toMatch(
      /^\{"level":"info","time":"[^"]+","service":"imap-gateway","component":"imap-gateway","event":"auth_failed","client":"203\.0\.113\.7","protocol":"imap","mechanism":"PLAIN","user":"x\\",\\"client\\":\\"6\.6\.6\.6","msg":"authentication failed"\}$/,
    );
  });

  it('leaves the user out when none was read, and cuts a long one', () => {
    const { lines, logger } = capture();
    logFailedLogin(logger, { client: '::1', protocol: 'smtp', mechanism: 'PLAIN', user: undefined });
    logThrottledLogin(logger, { client: '::1', protocol: 'pop3', user: 'a'.repeat(5000) });
    expect(JSON.parse(lines[0]!)).not.toHaveProperty('user');
    expect(JSON.parse(lines[1]!).user).toBe(`${'a'.repeat(320)}…`);
    expect(lines[1]).toContain('"event":"auth_throttled","client":"::1","protocol":"pop3"');
  });

  it('writes refused recipients and relay denials with the reply code and the envelope as given', () => {
    const { lines, logger } = capture('smtp-ingress');
    const refusal = { client: '198.51.100.4', listener: 'mx', from: '', to: 'Nobody@Example.com' };
    logUnknownRecipient(logger, { ...refusal, code: 550 });
    logRelayDenied(logger, { ...refusal, code: 554, to: 'x@elsewhere.example' });
    expect(lines.map((l) => JSON.parse(l))).toMatchObject([
      {
        event: 'rcpt_refused',
        client: '198.51.100.4',
        listener: 'mx',
        code: 550,
        reason: 'unknown-user',
        from: '',
        to: 'Nobody@Example.com',
      },
      { event: 'relay_denied', client: '198.51.100.4', code: 554, to: 'x@elsewhere.example' },
    ]);
    expect(lines[1]).toContain('"service":"smtp-ingress","event":"relay_denied","client":"198.51.100.4",');
  });
});
