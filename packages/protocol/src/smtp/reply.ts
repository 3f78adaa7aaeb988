/**
 * An SMTP reply (RFC 5321 §4.2) with its enhanced status code (RFC 3463; RFC 2034 says
 * every reply but the greeting and 235/334 carries one once ENHANCEDSTATUSCODES is offered,
 * and Tegami always offers it).
 */
export interface SmtpReply {
  readonly code: number;
  /** `class.subject.detail`, e.g. `5.1.1`; absent only where RFC 2034 leaves it out (220, 221, 334). */
  readonly enhanced?: string;
  readonly lines: readonly string[];
}

export function reply(code: number, enhanced: string | undefined, ...lines: string[]): SmtpReply {
  return enhanced === undefined ? { code, lines } : { code, enhanced, lines };
}

/** `250-first\r\n250 last\r\n`: continuation lines use `-`, the last one a space. */
export function serializeReply(r: SmtpReply): string {
  const lines = r.lines.length === 0 ? [''] : r.lines;
  let out = '';
  for (let i = 0; i < lines.length; i++) {
    const separator = i === lines.length - 1 ? ' ' : '-';
    const text = r.enhanced === undefined ? lines[i] : `${r.enhanced} ${lines[i]}`;
    out += `${r.code}${separator}${text}\r\n`;
  }
  return out;
}

export function isPositive(r: SmtpReply): boolean {
  return r.code < 400;
}
