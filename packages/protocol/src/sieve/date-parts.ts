// Date parts for the `date` and `currentdate` tests (RFC 5260 §4.2): an instant, seen in
// a zone, cut into the strings a script compares. Formats follow Pigeonhole exactly
// (two-digit day in std11, "Z" for a zero offset in iso8601, "+0000" for zone).

import { parseHeaderDate } from '../mime/header-date.js';

/** An instant and the zone offset it is seen in (minutes east of UTC). */
export interface SieveDate {
  readonly epochMs: number;
  readonly zoneMinutes: number;
}

const monthNames = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const weekdayNames = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

const MS_PER_DAY = 86_400_000;
/** The Modified Julian Day of 1970-01-01 (MJD 0 is 1858-11-17). */
const MJD_OF_UNIX_EPOCH = 40_587;

/** Day, month, year, then the time of day, as parseHeaderDate reads an RFC 5322 date. */
const writtenTime = /\d{1,2}\s+[a-z]{3}[a-z]*\s+\d{2,4}\s+(\d{1,2})\s*:\s*(\d{1,2})(?:\s*:\s*(\d{1,2}))?/i;

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/** "+hhmm"/"-hhmm"; zero is "+0000" (RFC 5260 §4.2, "zone"). */
function formatZone(zoneMinutes: number): string {
  const magnitude = Math.abs(zoneMinutes);
  return `${zoneMinutes < 0 ? '-' : '+'}${pad(Math.floor(magnitude / 60), 2)}${pad(magnitude % 60, 2)}`;
}

/**
 * One date part (RFC 5260 §4.2) of `date`, in its zone; the part name is case-insensitive.
 * Null for a part name RFC 5260 does not define (the validator refuses those) or an
 * instant outside what a Date holds.
 */
export function sieveDatePart(date: SieveDate, part: string): string | null {
  const local = new Date(date.epochMs + date.zoneMinutes * 60_000);
  if (Number.isNaN(local.getTime())) return null;
  const year = pad(local.getUTCFullYear(), 4);
  const month = pad(local.getUTCMonth() + 1, 2);
  const day = pad(local.getUTCDate(), 2);
  const hour = pad(local.getUTCHours(), 2);
  const minute = pad(local.getUTCMinutes(), 2);
  const second = pad(local.getUTCSeconds(), 2);
  switch (part.toLowerCase()) {
    case 'year':
      return year;
    case 'month':
      return month;
    case 'day':
      return day;
    case 'date':
      return `${year}-${month}-${day}`;
    case 'julian':
      return String(Math.floor(local.getTime() / MS_PER_DAY) + MJD_OF_UNIX_EPOCH);
    case 'hour':
      return hour;
    case 'minute':
      return minute;
    case 'second':
      return second;
    case 'time':
      return `${hour}:${minute}:${second}`;
    case 'iso8601': {
      // RFC 3339 date-time; RFC 5260 §4.2: a zero offset MUST be "Z", not "+00:00".
      const zone = formatZone(date.zoneMinutes);
      const offset = date.zoneMinutes === 0 ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(3)}`;
      return `${year}-${month}-${day}T${hour}:${minute}:${second}${offset}`;
    }
    case 'std11':
      return `${weekdayNames[local.getUTCDay()]}, ${day} ${monthNames[local.getUTCMonth()]} ${year} ${hour}:${minute}:${second} ${formatZone(date.zoneMinutes)}`;
    case 'zone':
      return formatZone(date.zoneMinutes);
    case 'weekday':
      return String(local.getUTCDay());
    default:
      return null;
  }
}

/** A `:zone` argument (RFC 5260 §4.1), "+hhmm" or "-hhmm", in minutes east of UTC; null if malformed. */
export function parseSieveZone(zone: string): number | null {
  const match = /^([+-])(\d\d)([0-5]\d)$/.exec(zone);
  if (match === null) return null;
  const minutes = Number(match[2]) * 60 + Number(match[3]);
  // "-0000" is zero like "+0000" (no -0 to trip Object.is comparisons).
  return match[1] === '-' && minutes !== 0 ? -minutes : minutes;
}

/**
 * The date in a header field for the `date` test (RFC 5260 §4): the text after the last
 * ";" when there is one (a Received field, as Pigeonhole reads it), parsed as an RFC 5322
 * date. `originalZone` (`:originalzone`) keeps the zone the date was written in; else
 * `zone` (`:zone`, or the default zone), in minutes; null keeps the original zone too.
 * Null when the field holds no valid date: the test then does not match.
 */
export function headerDateForSieve(
  value: string,
  originalZone: boolean,
  zone: number | null,
): SieveDate | null {
  const semicolon = value.lastIndexOf(';');
  const text = semicolon < 0 ? value : value.slice(semicolon + 1);
  const parsed = parseHeaderDate(text);
  if (parsed === null) return null;
  const epochMs = Date.parse(parsed.sentAt);
  if (!originalZone && zone !== null) return { epochMs, zoneMinutes: zone };
  // parseHeaderDate gives the instant and the calendar date as written; the time of day
  // as written (read the way it reads it) makes the wall clock, and the wall clock minus
  // the instant is the zone, whether written as "+0200" or as a name like "EST".
  const time = writtenTime.exec(text);
  if (time === null) return null;
  const [y, m, d] = parsed.sentOn.split('-').map(Number) as [number, number, number];
  const wallClock = Date.UTC(
    y,
    m - 1,
    d,
    Number(time[1]),
    Number(time[2]),
    Math.min(Number(time[3] ?? 0), 59),
  );
  return { epochMs, zoneMinutes: Math.round((wallClock - epochMs) / 60_000) + 0 };
}
