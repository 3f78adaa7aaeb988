// Reports cover one UTC day (RFC 8460 §4.1 and RFC 7489 §7.2 both suggest a day, aligned on
// UTC midnight). A day is its ISO date, `2026-05-01`, as the store keeps it.

const DAY_MS = 86_400_000;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The UTC day of an instant. */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** A date the operator typed (`--day 2026-05-01`), checked; undefined when it is not one. */
export function parseDay(text: string): string | undefined {
  const match = ISO_DATE.exec(text);
  if (!match) return undefined;
  const start = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  return utcDay(new Date(start)) === text ? text : undefined;
}

/** The first and the last second of a day: [00:00:00Z, 23:59:59Z]. */
export function dayRange(day: string): { readonly begin: Date; readonly end: Date } {
  const begin = new Date(`${day}T00:00:00Z`);
  return { begin, end: new Date(begin.getTime() + DAY_MS - 1000) };
}

/** `day` moved by `days` (negative: earlier). */
export function addDays(day: string, days: number): string {
  return utcDay(new Date(new Date(`${day}T00:00:00Z`).getTime() + days * DAY_MS));
}

/** Seconds since the epoch, as report file names and DMARC's date_range write them. */
export function epochSeconds(at: Date): number {
  return Math.floor(at.getTime() / 1000);
}
