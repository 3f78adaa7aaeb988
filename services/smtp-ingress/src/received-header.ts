import { isIPv6 } from 'node:net';
import { rfc5322Date, type SmtpClientInfo } from '@tegami/protocol';

/**
 * The trace field every hop adds (RFC 5321 §4.4), with the protocol names of RFC 3848:
 * ESMTP, plus S for TLS and A for an authenticated client.
 */
export function receivedHeader(opts: {
  readonly client: SmtpClientInfo;
  readonly hostname: string;
  readonly queueId: string;
  readonly recipients: readonly string[];
  readonly date: Date;
}): string {
  const { client } = opts;
  const protocol = client.extended
    ? `ESMTP${client.tls ? 'S' : ''}${client.authenticated ? 'A' : ''}`
    : client.tls
      ? 'SMTPS'
      : 'SMTP';
  const literal = isIPv6(client.address) ? `[IPv6:${client.address}]` : `[${client.address}]`;
  const helo = sanitize(client.helo ?? 'unknown');
  // "for" only with one recipient: listing several would disclose Bcc recipients to each other.
  const forClause = opts.recipients.length === 1 ? `\r\n\tfor <${sanitize(opts.recipients[0]!)}>` : '';
  return (
    `Received: from ${helo} (${literal})\r\n` +
    `\tby ${opts.hostname} (Tegami) with ${protocol} id ${opts.queueId}${forClause};\r\n` +
    `\t${rfc5322Date(opts.date)}\r\n`
  );
}

/** What a client says goes into a header: printable, without comment or angle syntax. */
function sanitize(text: string): string {
  return text.replace(/[^\x21-\x7e\u00a0-\uffff]|[()<>\\]/g, '?').slice(0, 255);
}
