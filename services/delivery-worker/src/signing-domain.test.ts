import { describe, expect, it } from 'vitest';
import { envelopeDomain, fromDomain, signingDomainCandidates } from './signing-domain.js';

const message = (head: string) => Buffer.from(`${head}\r\nSubject: hi\r\n\r\nbody\r\n`);
const LOCAL = new Set(['example.org', 'sub.example.org', 'other.test']);

describe('which local domain signs a message', () => {
  it('is the From domain first, then the local domains above it, then the envelope sender’s', () => {
    expect(signingDomainCandidates(message('From: A <a@Sub.Example.ORG>'), 'b@other.test', LOCAL)).toEqual([
      'sub.example.org',
      'example.org',
      'other.test',
    ]);
    // Our DSNs: From MAILER-DAEMON@<host name>, the null sender.
    expect(
      signingDomainCandidates(
        message('From: Mail Delivery System <MAILER-DAEMON@mx.example.org>'),
        '',
        LOCAL,
      ),
    ).toEqual(['example.org']);
  });

  it('is none for mail of foreign domains, forwarded with SRS or not', () => {
    expect(signingDomainCandidates(message('From: x@foreign.test'), 'x@foreign.test', LOCAL)).toEqual([]);
    expect(
      signingDomainCandidates(
        message('From: x@foreign.test'),
        'SRS0=HHH=TT=foreign.test=x@example.org',
        LOCAL,
      ),
    ).toEqual([]);
    // A name that merely ends like a local domain is not below it.
    expect(signingDomainCandidates(message('From: x@notexample.org'), '', LOCAL)).toEqual([]);
  });

  it('takes a From domain only when there is one From field of one domain', () => {
    expect(fromDomain(message('From: a@example.org, b@example.org'))).toBe('example.org');
    expect(fromDomain(message('From: a@example.org, b@other.test'))).toBeUndefined();
    expect(fromDomain(message('From: a@example.org\r\nFrom: b@example.org'))).toBeUndefined();
    expect(fromDomain(message('To: a@example.org'))).toBeUndefined();
    expect(fromDomain(message('From: team: a@example.org, b@example.org;'))).toBe('example.org');
    expect(fromDomain(message('From: broken <a@[127.0.0.1]>'))).toBeUndefined();
    expect(fromDomain(Buffer.from('From: a@bücher.example\r\n\r\n'))).toBe('xn--bcher-kva.example');
    // Headers only, no body: still read.
    expect(fromDomain(Buffer.from('From: a@example.org\r\n'))).toBe('example.org');
  });

  it('reads the envelope sender’s domain, none for <> and SRS', () => {
    expect(envelopeDomain('a@Example.ORG')).toBe('example.org');
    expect(envelopeDomain('')).toBeUndefined();
    expect(envelopeDomain('srs1=x=y@example.org')).toBeUndefined();
    expect(envelopeDomain('srsly@example.org')).toBe('example.org');
  });
});
