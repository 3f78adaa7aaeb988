/**
 * Capability lists (POP3 CAPA, SMTP EHLO) are gathered from the command tables, where each
 * command names the keywords it stands for; this puts them in the order the server has always
 * shown them. Clients do not depend on the order (RFC 2449 §5, RFC 5321 §4.1.1.1), but a
 * stable one keeps transcripts and tests comparable. A keyword missing from `order` follows
 * the known ones, in the order it was gathered: a new command needs no edit here.
 */
export function inDisplayOrder(lines: readonly string[], order: readonly string[]): string[] {
  const rank = (line: string) => {
    const at = order.indexOf(line.split(' ', 1)[0]!);
    return at < 0 ? order.length : at;
  };
  // Array.prototype.sort is stable, so unknown keywords keep their table order.
  return [...lines].sort((a, b) => rank(a) - rank(b));
}
