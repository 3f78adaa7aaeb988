/** RFC 5322 §3.3 date-time in UTC: `Sat, 28 Nov 2026 14:30:00 +0000` (Date:, Received:, DSN fields). */
export function rfc5322Date(date: Date): string {
  const [weekday, day, month, year, time] = date.toUTCString().replace(',', '').split(' ');
  return `${weekday}, ${day} ${month} ${year} ${time} +0000`;
}
