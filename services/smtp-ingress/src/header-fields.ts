/**
 * The header section of a message as a list of raw fields (each with its folded
 * continuation lines and line end), for the few edits an MTA makes to a message it
 * receives: everything else stays byte for byte as the client sent it.
 */

/** Offset of the blank line that ends the header section (or the end, if there is none). */
export function findHeaderEnd(raw: Buffer): number {
  if (raw.subarray(0, 2).toString('latin1') === '\r\n' || raw[0] === 0x0a) return 0;
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return crlf + 2;
  if (lf >= 0) return lf + 1;
  return raw.length;
}

/** Header fields with their folded continuation lines, line ends kept. */
export function splitFields(header: string): string[] {
  const lines = header.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const fields: string[] = [];
  for (const line of lines) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && fields.length > 0)
      fields[fields.length - 1] += line;
    else fields.push(line);
  }
  return fields;
}

/** The field's name in lower case ('' for a line that is no field). */
export function fieldName(field: string): string {
  const colon = field.indexOf(':');
  return (colon < 0 ? '' : field.slice(0, colon)).trim().toLowerCase();
}

/** The field's value: what follows the colon, unfolded, trimmed. */
export function fieldValue(field: string): string {
  return field
    .slice(field.indexOf(':') + 1)
    .replace(/\r?\n[ \t]/g, ' ')
    .trim();
}

/**
 * The message with its header fields passed through `edit` (fields are latin1 strings, so
 * 8-bit bytes survive the round trip); the very same buffer when nothing changed.
 */
export function editHeaderFields(raw: Buffer, edit: (fields: string[]) => string[]): Buffer {
  const headerEnd = findHeaderEnd(raw);
  const fields = splitFields(raw.subarray(0, headerEnd).toString('latin1'));
  const edited = edit(fields);
  if (edited.length === fields.length && edited.every((f, i) => f === fields[i])) return raw;
  return Buffer.concat([Buffer.from(edited.join(''), 'latin1'), raw.subarray(headerEnd)]);
}
