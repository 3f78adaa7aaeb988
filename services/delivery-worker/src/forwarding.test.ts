import { srsReverse } from '@tegami/protocol';
import type { DueDelivery, QueueEntry } from '@tegami/store';
import { generateDkimKey } from '@tegami/testing';
import { describe, expect, it } from 'vitest';
import { type ForwardingDeps, forwardedCopies, forwardingDeps } from './forwarding.js';

const now = new Date('2026-12-03T12:00:00Z');
const srs = { secrets: ['unit-test-srs-secret'] };
const rsa = generateDkimKey('rsa');
const local = new Set(['alias.test', 'other-alias.test']);
const message = Buffer.from(
  'Authentication-Results: mx.alias.test; spf=pass smtp.mailfrom=carol@origin.test; arc=none\r\nFrom: carol@origin.test\r\nSubject: hi\r\n\r\nHello.\r\n',
);

function entry(sender: string): QueueEntry {
  return {
    queueId: 'Q1',
    state: 'queued',
    sender,
    size: message.length,
    blobSha256: Buffer.alloc(32),
    messageId: null,
    dsnEnvid: null,
    dsnRet: null,
    clientAddress: '192.0.2.7',
    clientHelo: 'client.origin.test',
    authenticatedAs: null,
    receivedAt: now,
    reportsOn: null,
    junk: false,
    requireTls: false,
    tlsRequiredNo: false,
  };
}

function delivery(id: string, recipient: string, expandedFrom: string | null): DueDelivery {
  return { id, recipient, notify: null, orcpt: null, attempts: 0, expandedFrom, delayNotified: false };
}

function recorded(overrides: Partial<ForwardingDeps> = {}) {
  const lines: [string, string][] = [];
  const logger = {
    info: (_fields: object, text: string) => lines.push(['info', text]),
    warn: (_fields: object, text: string) => lines.push(['warn', text]),
  };
  const deps = forwardingDeps({
    hostname: 'mx.alias.test',
    srs,
    arcKey: async (domain) =>
      domain === 'alias.test' ? { domain, selector: 'fwd', privateKeyPem: rsa.privateKeyPem } : undefined,
    logger,
    ...overrides,
  });
  return { deps, lines };
}

describe('forwarded copies', () => {
  it('gives only recipients that came through an alias a copy: an SRS sender and an ARC seal', async () => {
    const { deps } = recorded();
    const copies = await forwardedCopies(
      deps,
      entry('carol@origin.test'),
      [delivery('1', 'x@away.test', 'info@alias.test'), delivery('2', 'y@away.test', null)],
      message,
      local,
      now,
    );
    expect([...copies.keys()]).toEqual(['1']);
    const copy = copies.get('1')!;
    expect(copy.sender).toMatch(/^SRS0=[^=]{4}=JW=origin\.test=carol@alias\.test$/);
    expect(srsReverse(copy.sender, srs, now)).toEqual({ kind: 'decoded', address: 'carol@origin.test' });
    expect(copy.message.toString()).toMatch(/^ARC-Seal: i=1; a=rsa-sha256; [\s\S]*cv=none/);
    expect(copy.message.toString()).toContain(
      'ARC-Authentication-Results: i=1; mx.alias.test; spf=pass smtp.mailfrom=carol@origin.test; arc=none',
    );
    expect(copy.message.subarray(copy.message.length - message.length)).toEqual(message);
    expect(copy.note).toBe(`from <${copy.sender}>, ARC i=1 cv=none by alias.test`);
  });

  it('makes one copy per alias domain, each signed by its own domain', async () => {
    const { deps } = recorded();
    const copies = await forwardedCopies(
      deps,
      entry('carol@origin.test'),
      [
        delivery('1', 'x@away.test', 'info@alias.test'),
        delivery('2', 'y@away.test', 'sales@alias.test'),
        delivery('3', 'z@away.test', 'info@other-alias.test'),
      ],
      message,
      local,
      now,
    );
    expect(copies.get('1')).toBe(copies.get('2'));
    expect(copies.get('3')!.sender).toMatch(/@other-alias\.test$/);
    expect(copies.get('3')!.note).toBe(`from <${copies.get('3')!.sender}>, not ARC-sealed (no rsa key)`);
  });

  it('keeps the null sender and a sender of a local domain', async () => {
    const { deps } = recorded();
    for (const sender of ['', 'alice@other-alias.test']) {
      const copies = await forwardedCopies(
        deps,
        entry(sender),
        [delivery('1', 'x@away.test', 'info@alias.test')],
        message,
        local,
        now,
      );
      expect(copies.get('1')!.sender).toBe(sender);
      expect(copies.get('1')!.note).toMatch(/^from <.*> unchanged, ARC i=1/);
    }
  });

  it('without a secret keeps the sender and warns once per process', async () => {
    const { deps, lines } = recorded({ srs: undefined });
    for (let i = 0; i < 3; i++) {
      const copies = await forwardedCopies(
        deps,
        entry('carol@origin.test'),
        [delivery('1', 'x@away.test', 'info@alias.test')],
        message,
        local,
        now,
      );
      expect(copies.get('1')!.sender).toBe('carol@origin.test');
    }
    expect(lines).toEqual([
      [
        'warn',
        'forwarding to other domains with the original sender, which fails SPF there: set TEGAMI_SRS_SECRET_FILE',
      ],
    ]);
  });

  it('keeps a sender whose SRS address would pass the path limit', async () => {
    const { deps, lines } = recorded();
    const long = `${'x'.repeat(64)}@${'d'.repeat(63)}.${'e'.repeat(63)}.${'f'.repeat(40)}.test`;
    const copies = await forwardedCopies(
      deps,
      entry(long),
      [delivery('1', 'x@away.test', 'info@alias.test')],
      message,
      local,
      now,
    );
    expect(copies.get('1')!.sender).toBe(long);
    expect(lines).toContainEqual([
      'warn',
      'sender too long to rewrite with SRS (the address would pass 254 octets): forwarded unchanged',
    ]);
  });

  it('keeps a sender with a quoted local part, which SRS cannot carry', async () => {
    const { deps, lines } = recorded();
    const copies = await forwardedCopies(
      deps,
      entry('"carol smith"@origin.test'),
      [delivery('1', 'x@away.test', 'info@alias.test')],
      message,
      local,
      now,
    );
    expect(copies.get('1')!.sender).toBe('"carol smith"@origin.test');
    expect(lines).toContainEqual([
      'warn',
      'sender that SRS cannot carry (a quoted local part): forwarded unchanged',
    ]);
  });

  it('still forwards, unsealed, when the key cannot be read', async () => {
    const { deps, lines } = recorded({
      arcKey: async () => {
        throw new Error('database down');
      },
    });
    const copies = await forwardedCopies(
      deps,
      entry('carol@origin.test'),
      [delivery('1', 'x@away.test', 'info@alias.test')],
      message,
      local,
      now,
    );
    expect(copies.get('1')!.message).toEqual(message);
    expect(copies.get('1')!.sender).toMatch(/^SRS0=/);
    expect(lines[0]).toEqual(['warn', 'could not read the ARC key; not sealed']);
  });

  it('folds lines over 998 octets before sealing, so the seal covers what is sent', async () => {
    const { deps } = recorded();
    const long = Buffer.from(`From: carol@origin.test\r\nSubject: long\r\n\r\n${'a '.repeat(700)}\r\n`);
    const copies = await forwardedCopies(
      deps,
      entry('carol@origin.test'),
      [delivery('1', 'x@away.test', 'info@alias.test')],
      long,
      local,
      now,
    );
    for (const line of copies.get('1')!.message.toString().split('\r\n'))
      expect(line.length).toBeLessThanOrEqual(998);
  });
});
