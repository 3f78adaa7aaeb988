// IMAP string syntax (RFC 3501 §4.3, §9; RFC 9051 §4.3) for the values
// ENVELOPE and BODYSTRUCTURE carry.
//
// A value is written as a quoted string when the grammar allows it, with "\"
// and '"' escaped, and as a literal {n}\r\n... otherwise: CR, LF and NUL can
// never be quoted, and 8-bit characters only when the session has enabled
// UTF-8 (IMAP4rev2 or UTF8=ACCEPT, RFC 6855) and the value is valid UTF-8.
// The returned strings are meant to be written out as UTF-8, and literal
// lengths count UTF-8 octets accordingly.

export interface ImapStringOptions {
  /**
   * True in an IMAP4rev2 or UTF8=ACCEPT session: UTF-8 may appear inside
   * quoted strings (RFC 9051 §4.3, RFC 6855 §3). Dovecot quotes UTF-8 there too.
   */
  utf8?: boolean;
}

const utf8 = new TextEncoder();

// CR, LF and NUL never fit in a quoted string; 8-bit text fits only under UTF-8.
export function formatImapString(value: string, options: ImapStringOptions = {}): string {
  // One pass over the value decides (ENVELOPE and BODYSTRUCTURE format thousands of short
  // values per FETCH): most need neither a literal nor an escape.
  let escapes = false;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit === 0x0d || unit === 0x0a || unit === 0 || (unit > 0x7f && !options.utf8)) {
      return `{${utf8.encode(value).length}}\r\n${value}`;
    }
    if (unit === 0x22 || unit === 0x5c) escapes = true;
  }
  return escapes ? `"${value.replace(/["\\]/g, '\\$&')}"` : `"${value}"`;
}

export function formatImapNString(value: string | null | undefined, options: ImapStringOptions = {}): string {
  return value === null || value === undefined ? 'NIL' : formatImapString(value, options);
}

/** A parenthesised list of strings, or NIL when there is nothing to list. */
export function formatImapStringList(
  values: readonly string[] | null,
  options: ImapStringOptions = {},
): string {
  if (!values || values.length === 0) return 'NIL';
  return `(${values.map((value) => formatImapString(value, options)).join(' ')})`;
}
