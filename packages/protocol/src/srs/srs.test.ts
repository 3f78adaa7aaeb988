import { describe, expect, it } from 'vitest';
import {
  isSrsLocalPart,
  SRS_MAX_ADDRESS_OCTETS,
  type SrsOptions,
  srsForward,
  srsReverse,
  srsTimestamp,
} from './srs.js';

// The vectors below were written by postsrsd 1.10 (Debian 12) on 2026-12-03, whose day
// stamp is JW, with the secrets file "tops3cr3t\nold-secret\n" and -d forward.example
// (-a+ and the secret "old-secret" for the `+` ones). test/srs-postsrsd.test.ts asks a
// running postsrsd for more, both ways.
const day = new Date('2026-12-03T12:00:00Z');
const daysLater = (n: number) => new Date(day.getTime() + n * 86_400_000);
const options: SrsOptions = { secrets: ['tops3cr3t', 'old-secret'] };
const forward = (sender: string, o: SrsOptions = options, now = day) => {
  const result = srsForward(sender, 'forward.example', o, now);
  if (result.kind !== 'rewritten') throw new Error(`${sender}: ${result.kind}`);
  return result.address;
};
const reverse = (address: string, now = day) => srsReverse(address, options, now);

describe('SRS0 (postsrsd vectors)', () => {
  it.each([
    ['alice@origin.example', 'SRS0=VNKF=JW=origin.example=alice@forward.example'],
    // The hash is over lower-cased A-Z; the address keeps its case.
    ['Bob.Smith@Origin.Example', 'SRS0=ii8v=JW=Origin.Example=Bob.Smith@forward.example'],
    ['UPPER@CASE.EXAMPLE', 'SRS0=5G9z=JW=CASE.EXAMPLE=UPPER@forward.example'],
    // "=" and "+" in the original local part stay as they are.
    ['a+b=c@d.example', 'SRS0=LG7d=JW=d.example=a+b=c@forward.example'],
    // A hash may hold "/" and "+" (standard base64).
    ['bounce-1234@lists.example.org', 'SRS0=RV/h=JW=lists.example.org=bounce-1234@forward.example'],
  ])('rewrites %s as %s and decodes it back', (sender, srs) => {
    expect(forward(sender)).toBe(srs);
    expect(reverse(srs)).toEqual({ kind: 'decoded', address: sender });
  });

  it('writes the separator it is given, as postsrsd -a+ does', () => {
    expect(forward('alice@origin.example', { secrets: ['old-secret'], separator: '+' })).toBe(
      'SRS0+3jN3=JW=origin.example=alice@forward.example',
    );
  });

  it('verifies with every secret, so a rotated-out one still brings bounces back', () => {
    expect(reverse('SRS0+3jN3=JW=origin.example=alice@forward.example')).toEqual({
      kind: 'decoded',
      address: 'alice@origin.example',
    });
    const rotated = { secrets: ['a-brand-new-secret'] };
    expect(srsReverse('SRS0+3jN3=JW=origin.example=alice@forward.example', rotated, day)).toEqual({
      kind: 'invalid',
      reason: 'bad-signature',
    });
  });

  it('signs with the first secret only', () => {
    expect(forward('alice@origin.example', { secrets: ['old-secret', 'tops3cr3t'] })).toBe(
      'SRS0=3jN3=JW=origin.example=alice@forward.example',
    );
  });

  it('compares the hash and the tag without regard to case, as some MTAs lower-case addresses', () => {
    expect(reverse('SRS0=vnkf=jw=origin.example=alice@forward.example')).toEqual({
      kind: 'decoded',
      address: 'alice@origin.example',
    });
    expect(reverse('srs0=VNKF=JW=ORIGIN.EXAMPLE=ALICE@FORWARD.EXAMPLE')).toEqual({
      kind: 'decoded',
      address: 'ALICE@ORIGIN.EXAMPLE',
    });
  });
});

describe('SRS1 (postsrsd vectors)', () => {
  it('rewrites another forwarder’s SRS0 as SRS1 at ours, and decodes it to that SRS0', () => {
    const hop1 = 'SRS0=abcd=XY=other.example=carol@hop1.example';
    const srs1 = 'SRS1=L+FG=hop1.example==abcd=XY=other.example=carol@forward.example';
    expect(forward(hop1)).toBe(srs1);
    // The first forwarder checks its own hash and age; we only check ours.
    expect(reverse(srs1)).toEqual({ kind: 'decoded', address: hop1 });
  });

  it('keeps the first forwarder of an SRS1 and signs it afresh', () => {
    expect(forward('SRS1=wxyz=hop1.example==abcd=XY=other.example=carol@hop2.example')).toBe(
      'SRS1=L+FG=hop1.example==abcd=XY=other.example=carol@forward.example',
    );
  });

  it('keeps the separator the first forwarder wrote', () => {
    const srs1 = 'SRS1=0ur0=hop1.example=+xyzw=AB=other.example=dave@forward.example';
    expect(forward('SRS0+xyzw=AB=other.example=dave@hop1.example')).toBe(srs1);
    expect(reverse(srs1)).toEqual({
      kind: 'decoded',
      address: 'SRS0+xyzw=AB=other.example=dave@hop1.example',
    });
  });

  it('writes its own separator', () => {
    expect(
      forward('SRS0=abcd=XY=other.example=carol@hop1.example', { secrets: ['old-secret'], separator: '+' }),
    ).toBe('SRS1+/pJ+=hop1.example==abcd=XY=other.example=carol@forward.example');
  });

  it('verifies without regard to case', () => {
    expect(reverse('SRS1=l+fg=HOP1.example==ABCD=XY=other.example=carol@x')).toEqual({
      kind: 'decoded',
      address: 'SRS0=ABCD=XY=other.example=carol@HOP1.example',
    });
  });

  it('has no age: it decodes long after an SRS0 would have expired', () => {
    expect(reverse('SRS1=L+FG=hop1.example==abcd=XY=other.example=carol@x', daysLater(500)).kind).toBe(
      'decoded',
    );
  });

  it('rewrites a malformed SRS1 sender as an ordinary one', () => {
    expect(forward('SRS1=nohost@weird.example')).toMatch(
      /^SRS0=.{4}=JW=weird\.example=SRS1=nohost@forward\.example$/,
    );
    const srs = forward('SRS1=nohost@weird.example');
    expect(reverse(srs)).toEqual({ kind: 'decoded', address: 'SRS1=nohost@weird.example' });
  });
});

describe('age', () => {
  const srs = 'SRS0=VNKF=JW=origin.example=alice@forward.example';

  it('honours an address for 21 days by default and refuses it on the 22nd', () => {
    expect(reverse(srs, daysLater(21)).kind).toBe('decoded');
    expect(reverse(srs, daysLater(22))).toEqual({ kind: 'invalid', reason: 'expired' });
  });

  it('takes another maximum age', () => {
    expect(srsReverse(srs, { ...options, maxAgeDays: 2 }, daysLater(2)).kind).toBe('decoded');
    expect(srsReverse(srs, { ...options, maxAgeDays: 2 }, daysLater(3))).toEqual({
      kind: 'invalid',
      reason: 'expired',
    });
  });

  it('counts days modulo 1024: a stamp from tomorrow (a clock ahead) is 1023 days old', () => {
    const tomorrow = forward('alice@origin.example', options, daysLater(1));
    expect(reverse(tomorrow)).toEqual({ kind: 'invalid', reason: 'expired' });
  });

  it('wraps at 1024 days as libsrs2 does: a stamp from day 1023 is one day old on day 0', () => {
    const day1023 = new Date((1024 * 20 + 1023) * 86_400_000 + 3_600_000);
    const day0 = new Date(1024 * 21 * 86_400_000 + 3_600_000);
    expect(srsTimestamp(day1023)).toBe('77');
    expect(srsTimestamp(day0)).toBe('AA');
    expect(reverse(forward('x@y.example', options, day1023), day0).kind).toBe('decoded');
  });

  it('writes the day number in two base32 characters', () => {
    expect(srsTimestamp(day)).toBe('JW');
    expect(srsTimestamp(new Date(0))).toBe('AA');
    expect(srsTimestamp(new Date(31 * 86_400_000))).toBe('A7');
    expect(srsTimestamp(new Date(32 * 86_400_000))).toBe('BA');
  });
});

describe('forged and broken addresses', () => {
  it.each([
    ['a changed hash', 'SRS0=VNKG=JW=origin.example=alice@forward.example', 'bad-signature'],
    ['a changed local part', 'SRS0=VNKF=JW=origin.example=alicf@forward.example', 'bad-signature'],
    ['a changed domain', 'SRS0=VNKF=JW=origin.examplf=alice@forward.example', 'bad-signature'],
    ['a changed stamp', 'SRS0=VNKF=JV=origin.example=alice@forward.example', 'bad-signature'],
    ['a short hash', 'SRS0=VNK=JW=origin.example=alice@forward.example', 'bad-signature'],
    ['a long hash', 'SRS0=VNKFF=JW=origin.example=alice@forward.example', 'bad-signature'],
    ['a forged SRS1', 'SRS1=AAAA=hop1.example==abcd=XY=other.example=carol@x', 'bad-signature'],
    ['no user', 'SRS0=VNKF=JW=origin.example=@forward.example', 'malformed'],
    ['too few fields', 'SRS0=VNKF=JW=alice@forward.example', 'malformed'],
    ['an empty host', 'SRS0=VNKF=JW==alice@forward.example', 'malformed'],
    ['a stamp of three characters', 'SRS0=VNKF=JWA=origin.example=alice@forward.example', 'malformed'],
    ['a stamp that is not base32', 'SRS0=VNKF=J1=origin.example=alice@forward.example', 'malformed'],
    ['an SRS1 without a host', 'SRS1=L+FG@forward.example', 'malformed'],
    ['an SRS1 with an empty host', 'SRS1=L+FG==abcd@forward.example', 'malformed'],
    ['an SRS1 without a user', 'SRS1=L+FG=hop1.example=@forward.example', 'malformed'],
  ])('refuses %s', (_what, address, reason) => {
    expect(reverse(address)).toEqual({ kind: 'invalid', reason });
  });

  it('says an expired address is expired only when its signature is ours', () => {
    // Signed by someone else and old: a forgery, not an expired address of ours.
    expect(reverse('SRS0=AAAA=AA=origin.example=alice@forward.example')).toEqual({
      kind: 'invalid',
      reason: 'bad-signature',
    });
  });

  it('leaves ordinary addresses alone', () => {
    expect(reverse('alice@forward.example')).toEqual({ kind: 'not-srs' });
    expect(reverse('SRS2=x=y=z=w@forward.example')).toEqual({ kind: 'not-srs' });
    expect(reverse('SRS0@forward.example')).toEqual({ kind: 'not-srs' });
    expect(reverse('SRS0_VNKF=JW=origin.example=alice@forward.example')).toEqual({ kind: 'not-srs' });
  });

  it('knows the form of an SRS local part', () => {
    expect(isSrsLocalPart('SRS0=x')).toBe(true);
    expect(isSrsLocalPart('srs1+x')).toBe(true);
    expect(isSrsLocalPart('SRS0-x')).toBe(true);
    expect(isSrsLocalPart('SRS0')).toBe(false);
    expect(isSrsLocalPart('SRS0.x')).toBe(false);
    expect(isSrsLocalPart('alice')).toBe(false);
  });
});

describe('limits', () => {
  it('says when the address would pass the 256-octet path limit', () => {
    const local = 'x'.repeat(64);
    const domain = `${'d'.repeat(60)}.${'e'.repeat(60)}.${'f'.repeat(60)}.example`;
    const result = srsForward(`${local}@${domain}`, 'forward.example', options, day);
    if (result.kind !== 'too-long') throw new Error(result.kind);
    expect(Buffer.byteLength(result.address)).toBeGreaterThan(SRS_MAX_ADDRESS_OCTETS);
  });

  it('rewrites the longest sender that fits', () => {
    // "SRS0=HHHH=TT=" + domain + "=" + local + "@forward.example" is 30 octets more.
    const domain = `${'d'.repeat(63)}.${'e'.repeat(63)}.example`;
    const local = 'x'.repeat(SRS_MAX_ADDRESS_OCTETS - 30 - domain.length);
    const result = srsForward(`${local}@${domain}`, 'forward.example', options, day);
    if (result.kind !== 'rewritten') throw new Error(result.kind);
    expect(Buffer.byteLength(result.address)).toBe(SRS_MAX_ADDRESS_OCTETS);
    expect(srsForward(`x${local}@${domain}`, 'forward.example', options, day).kind).toBe('too-long');
  });

  it('needs a secret to sign with', () => {
    expect(() => srsForward('a@b.example', 'forward.example', { secrets: [] }, day)).toThrow(/secret/);
  });

  it('says when a sender cannot be carried: no domain, or a quoted local part', () => {
    expect(srsForward('no-domain', 'forward.example', options, day)).toEqual({ kind: 'unsuitable' });
    expect(srsForward('@x.example', 'forward.example', options, day)).toEqual({ kind: 'unsuitable' });
    expect(srsForward('"a b"@x.example', 'forward.example', options, day)).toEqual({ kind: 'unsuitable' });
    expect(srsForward('"a\\"b"@x.example', 'forward.example', options, day)).toEqual({ kind: 'unsuitable' });
  });

  it('signs UTF-8 local parts as their bytes, lower-casing only A-Z', () => {
    const srs = forward('Jöran@exämple.test');
    expect(srs).toMatch(/^SRS0=.{4}=JW=exämple\.test=Jöran@forward\.example$/);
    expect(reverse(srs.replace('Jöran', 'jöran'))).toEqual({
      kind: 'decoded',
      address: 'jöran@exämple.test',
    });
    expect(reverse(srs.replace('Jöran', 'JÖRAN')).kind).toBe('invalid');
  });
});
