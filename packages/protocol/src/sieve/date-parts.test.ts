import { describe, expect, it } from 'vitest';
import { headerDateForSieve, parseSieveZone, sieveDatePart } from './date-parts.js';

// 2009-04-02 14:30:00 at +0200: a Thursday.
const april2 = { epochMs: Date.UTC(2009, 3, 2, 12, 30, 0), zoneMinutes: 120 };

function parts(date: { epochMs: number; zoneMinutes: number }): Record<string, string | null> {
  const names = ['year', 'month', 'day', 'date', 'julian', 'hour', 'minute', 'second', 'time'];
  const all = [...names, 'iso8601', 'std11', 'zone', 'weekday'];
  return Object.fromEntries(all.map((name) => [name, sieveDatePart(date, name)]));
}

describe('sieveDatePart', () => {
  it('cuts a date into every RFC 5260 §4.2 part, in its zone', () => {
    expect(parts(april2)).toEqual({
      year: '2009',
      month: '04',
      day: '02',
      date: '2009-04-02',
      julian: '54923',
      hour: '14',
      minute: '30',
      second: '00',
      time: '14:30:00',
      iso8601: '2009-04-02T14:30:00+02:00',
      std11: 'Thu, 02 Apr 2009 14:30:00 +0200',
      zone: '+0200',
      weekday: '4',
    });
  });

  it('moves to the previous day in a zone west of UTC', () => {
    const date = { epochMs: Date.UTC(2009, 0, 1, 3, 5, 9), zoneMinutes: -(5 * 60 + 30) };
    expect(parts(date)).toMatchObject({
      date: '2008-12-31',
      time: '21:35:09',
      julian: '54831',
      iso8601: '2008-12-31T21:35:09-05:30',
      std11: 'Wed, 31 Dec 2008 21:35:09 -0530',
      zone: '-0530',
      weekday: '3',
    });
  });

  it('writes a zero offset as Z in iso8601 and +0000 as zone', () => {
    const date = { epochMs: Date.UTC(2000, 1, 29, 0, 0, 0), zoneMinutes: 0 };
    expect(sieveDatePart(date, 'iso8601')).toBe('2000-02-29T00:00:00Z');
    expect(sieveDatePart(date, 'zone')).toBe('+0000');
    expect(sieveDatePart(date, 'julian')).toBe('51603');
    expect(sieveDatePart(date, 'weekday')).toBe('2');
  });

  it('counts the Modified Julian Day from 1858-11-17', () => {
    expect(sieveDatePart({ epochMs: Date.UTC(1858, 10, 17, 23, 59), zoneMinutes: 0 }, 'julian')).toBe('0');
    expect(sieveDatePart({ epochMs: Date.UTC(1970, 0, 1), zoneMinutes: 0 }, 'julian')).toBe('40587');
  });

  it('reads part names case-insensitively and refuses unknown ones', () => {
    expect(sieveDatePart(april2, 'YEAR')).toBe('2009');
    expect(sieveDatePart(april2, 'century')).toBeNull();
    expect(sieveDatePart({ epochMs: Number.NaN, zoneMinutes: 0 }, 'year')).toBeNull();
  });
});

describe('parseSieveZone', () => {
  it('reads +hhmm and -hhmm as minutes east of UTC', () => {
    expect(parseSieveZone('+0200')).toBe(120);
    expect(parseSieveZone('-0530')).toBe(-330);
    expect(parseSieveZone('-0000')).toBe(0);
    expect(parseSieveZone('+1400')).toBe(840);
  });

  it('refuses anything else', () => {
    for (const zone of ['0200', '+200', '+02:00', '+0260', 'EST', 'Z', '+02000', ' +0200', '']) {
      expect(parseSieveZone(zone)).toBeNull();
    }
  });
});

describe('headerDateForSieve', () => {
  it('keeps the original zone with :originalzone', () => {
    expect(headerDateForSieve('Thu, 02 Apr 2009 14:30:00 +0200', true, 0)).toEqual(april2);
    expect(headerDateForSieve('Thu, 2 Apr 2009 07:30:00 -0500 (EST)', true, null)).toEqual({
      epochMs: april2.epochMs,
      zoneMinutes: -300,
    });
  });

  it('works out named zones from the instant (RFC 5322 §4.3)', () => {
    expect(headerDateForSieve('2 Apr 2009 08:30 EDT', true, null)).toEqual({
      epochMs: april2.epochMs,
      zoneMinutes: -240,
    });
    expect(headerDateForSieve('2 Apr 2009 12:30:00 GMT', true, 60)).toEqual({
      epochMs: april2.epochMs,
      zoneMinutes: 0,
    });
  });

  it('sees the date in the :zone given otherwise', () => {
    const date = headerDateForSieve('Thu, 02 Apr 2009 14:30:00 +0200', false, -420)!;
    expect(date).toEqual({ epochMs: april2.epochMs, zoneMinutes: -420 });
    expect(sieveDatePart(date, 'time')).toBe('05:30:00');
  });

  it('reads the date after the last ";" of a Received field', () => {
    const received =
      'from a.example (a.example [192.0.2.1]) by b.example with ESMTP id 123; Thu, 02 Apr 2009 14:30:00 +0200';
    expect(headerDateForSieve(received, true, null)).toEqual(april2);
  });

  it('answers null for a field that holds no valid date', () => {
    expect(headerDateForSieve('yesterday', true, null)).toBeNull();
    expect(headerDateForSieve('Thu, 31 Feb 2009 14:30:00 +0200', false, 0)).toBeNull();
    expect(headerDateForSieve('', false, 0)).toBeNull();
  });
});
