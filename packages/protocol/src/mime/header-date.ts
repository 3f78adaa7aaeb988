// The Date header as SEARCH SENTBEFORE/SENTON/SENTSINCE need it (RFC 3501
// §6.4.4: "disregarding time and timezone", so the calendar date as written)
// and as an instant for sorting (RFC 5256 SORT DATE). RFC 5322 §3.3 syntax
// with the §4.3 obsolete forms (two-digit years, named zones); anything
// unparseable is null rather than a guess.

export interface HeaderDate {
  /** The instant, ISO 8601 in UTC. */
  sentAt: string;
  /** The calendar date in the sender's own zone, YYYY-MM-DD. */
  sentOn: string;
}

const months = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

// RFC 5322 §4.3 obsolete zone names; military letters and unknown names mean -0000.
const namedZones: Record<string, number> = {
  ut: 0,
  utc: 0,
  gmt: 0,
  z: 0,
  est: -300,
  edt: -240,
  cst: -360,
  cdt: -300,
  mst: -420,
  mdt: -360,
  pst: -480,
  pdt: -420,
};

const dateSyntax =
  /(\d{1,2})\s+([a-z]{3})[a-z]*\s+(\d{2,4})\s+(\d{1,2})\s*:\s*(\d{1,2})(?:\s*:\s*(\d{1,2}))?\s*([+-]\d{4}|[a-z]{1,5})?/i;

export function parseHeaderDate(value: string | null | undefined): HeaderDate | null {
  if (!value) return null;
  const match = dateSyntax.exec(value);
  if (!match) return null;
  const [, dayText, monthText, yearText, hourText, minuteText, secondText, zoneText] = match;
  const month = months.indexOf(monthText!.toLowerCase());
  let year = Number(yearText);
  if (yearText!.length === 2) year += year < 50 ? 2000 : 1900;
  else if (yearText!.length === 3) year += 1900;
  const day = Number(dayText);
  const hour = Number(hourText);
  const minute = Number(minuteText);
  const second = secondText === undefined ? 0 : Number(secondText);
  if (month < 0 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  let offsetMinutes = 0;
  if (zoneText && /^[+-]\d{4}$/.test(zoneText)) {
    const sign = zoneText[0] === '-' ? -1 : 1;
    offsetMinutes = sign * (Number(zoneText.slice(1, 3)) * 60 + Number(zoneText.slice(3, 5)));
  } else if (zoneText) {
    offsetMinutes = namedZones[zoneText.toLowerCase()] ?? 0;
  }
  const local = Date.UTC(year, month, day, hour, minute, Math.min(second, 59));
  const localDate = new Date(local);
  if (localDate.getUTCDate() !== day) return null; // 31 Feb and the like
  const instant = new Date(local - offsetMinutes * 60_000);
  if (Number.isNaN(instant.getTime())) return null;
  return { sentAt: instant.toISOString(), sentOn: localDate.toISOString().slice(0, 10) };
}
