import { gzipSync } from 'node:zlib';
import { reportAttachment } from '@tegami/testing';
import { describe, expect, it } from 'vitest';
import { reportFileName, reportMail } from './report-mail.js';

const json = JSON.stringify({ 'report-id': 'x' });
const base = {
  from: 'noreply-reports@example.test',
  to: 'tlsrpt@receiver.test',
  policyDomain: 'receiver.test',
  submitter: 'example.test',
  reportId: '2026-05-01.abc123@example.test',
  fileName: 'example.test!receiver.test!1777593600!1777679999!abc123.json.gz',
  gzipped: gzipSync(json),
  date: new Date('2026-05-02T00:05:00Z'),
};

function headerBlock(raw: Buffer): string {
  return raw.toString('utf8').split('\r\n\r\n')[0]!;
}

describe('report messages', () => {
  it('are RFC 8460 §5.3 messages for TLS-RPT', () => {
    const mail = reportMail({ ...base, kind: 'tlsrpt' });
    const head = headerBlock(mail.raw);
    expect(head).toContain(
      'Subject: Report Domain: receiver.test\r\n Submitter: example.test\r\n Report-ID: <2026-05-01.abc123@example.test>',
    );
    expect(head).toContain('TLS-Report-Domain: receiver.test');
    expect(head).toContain('TLS-Report-Submitter: example.test');
    expect(head).toMatch(/Content-Type: multipart\/report; report-type="tlsrpt";/);
    const text = mail.raw.toString('utf8');
    expect(text).toContain('Content-Type: application/tlsrpt+gzip;');
    expect(text).toContain(`filename="${base.fileName}"`);
    expect(reportAttachment(mail.raw)).toEqual({
      type: 'application/tlsrpt+gzip',
      fileName: base.fileName,
      text: json,
    });
    expect(
      mail.raw
        .toString('utf8')
        .split('\r\n')
        .every((line) => line.length <= 998),
    ).toBe(true);
  });

  it('carry the DMARC report as application/gzip, with the RFC 7489 §7.2.1.1 Subject', () => {
    const mail = reportMail({ ...base, kind: 'dmarc', fileName: 'example.test!sender.test!1!2!abc.xml.gz' });
    const head = headerBlock(mail.raw);
    expect(head).toMatch(
      /Subject: Report Domain: receiver.test\r\n Submitter: example.test\r\n Report-ID: </,
    );
    expect(head).not.toContain('TLS-Report-Domain');
    expect(head).toContain('Content-Type: multipart/mixed;');
    expect(reportAttachment(mail.raw)).toMatchObject({ type: 'application/gzip', text: json });
  });

  it('keep names from DNS to one header line', () => {
    const mail = reportMail({ ...base, kind: 'tlsrpt', policyDomain: 'evil.test\r\nBcc: x@y.test' });
    expect(headerBlock(mail.raw)).not.toMatch(/^Bcc:/m);
    expect(headerBlock(mail.raw)).toContain('TLS-Report-Domain: evil.testBcc:x@y.test');
  });

  it('name their attachment receiver!policy-domain!begin!end!id', () => {
    expect(
      reportFileName({
        kind: 'dmarc',
        submitter: 'a.test',
        policyDomain: 'b.test',
        begin: 10,
        end: 20,
        uniqueId: 'f00',
      }),
    ).toBe('a.test!b.test!10!20!f00.xml.gz');
  });
});
