import { describe, expect, it } from 'vitest';
import {
  decodeDeliveryJob,
  decodeMailboxChanged,
  encodeDeliveryJob,
  encodeMailboxChanged,
  InvalidEventError,
} from './events.js';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('delivery jobs on the wire', () => {
  it('round-trips a job and drops fields it does not know', () => {
    const job = { queueId: 'Q1a2b3', enqueuedAt: '2024-05-01T10:00:00.000Z' };
    expect(decodeDeliveryJob(encodeDeliveryJob(job))).toEqual({ ok: true, value: job });
    const extra = bytes(JSON.stringify({ ...job, sender: 'a@b' }));
    expect(decodeDeliveryJob(extra)).toEqual({ ok: true, value: job });
  });

  it('rejects what is not a job, without throwing', () => {
    for (const raw of [
      '',
      'null',
      '[]',
      '{}',
      '{"queueId":"q"}',
      '{"queueId":"a b","enqueuedAt":"2024-05-01T10:00:00Z"}',
    ]) {
      expect(decodeDeliveryJob(bytes(raw)).ok).toBe(false);
    }
    expect(decodeDeliveryJob(Uint8Array.of(0xff, 0xfe)).ok).toBe(false);
    expect(decodeDeliveryJob(bytes('{"queueId":"q","enqueuedAt":"2024-13-45T99:00:00Z"}')).ok).toBe(false);
  });

  it('refuses to encode an invalid job', () => {
    expect(() => encodeDeliveryJob({ queueId: 'q\r\nX: y', enqueuedAt: new Date().toISOString() })).toThrow(
      InvalidEventError,
    );
  });
});

describe('mailbox events on the wire', () => {
  it('round-trips an event, keeping a MODSEQ beyond 2^53 exact', () => {
    const event = {
      accountId: 'a1',
      mailboxId: 'm1',
      kind: 'expunge' as const,
      uids: [1, 4294967295],
      modseq: '18446744073709551615',
    };
    expect(decodeMailboxChanged(encodeMailboxChanged(event))).toEqual({ ok: true, value: event });
  });

  it('rejects bad kinds, UIDs and MODSEQs', () => {
    const base = { accountId: 'a1', mailboxId: 'm1', kind: 'exists' };
    for (const bad of [
      { ...base, kind: 'moved' },
      { ...base, uids: [0] },
      { ...base, uids: [1.5] },
      { ...base, uids: [4294967296] },
      { ...base, uids: '1,2' },
      { ...base, modseq: 12 },
      { ...base, modseq: '-1' },
      { ...base, accountId: 'a.b' },
      { ...base, mailboxId: '' },
    ]) {
      expect(decodeMailboxChanged(bytes(JSON.stringify(bad))).ok).toBe(false);
    }
  });
});

describe('mailbox list events on the wire (NOTIFY MailboxName, SubscriptionChange)', () => {
  it('round-trips a rename with both names and the origin', () => {
    const event = {
      accountId: 'a1',
      mailboxId: 'm1',
      kind: 'renamed' as const,
      name: 'Archive/2024',
      oldName: 'Old',
      origin: 'session-1',
    };
    expect(decodeMailboxChanged(encodeMailboxChanged(event))).toEqual({ ok: true, value: event });
  });

  it('round-trips a subscription change', () => {
    const event = {
      accountId: 'a1',
      mailboxId: 'm1',
      kind: 'subscription' as const,
      name: 'Lists',
      subscribed: false,
    };
    expect(decodeMailboxChanged(encodeMailboxChanged(event))).toEqual({ ok: true, value: event });
  });

  it('rejects names, flags and origins of the wrong shape', () => {
    const base = { accountId: 'a1', mailboxId: 'm1', kind: 'created' };
    for (const extra of [
      { name: '' },
      { name: 7 },
      { oldName: 'x'.repeat(5000) },
      { subscribed: 'yes' },
      { origin: 'a b' },
    ]) {
      expect(decodeMailboxChanged(bytes(JSON.stringify({ ...base, ...extra }))).ok).toBe(false);
    }
  });
});
