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
const unquotableAscii = /[\r\n\0]/;
const nonAscii = /[^\p{ASCII}]/u;

export function formatImapString(value: string, options: ImapStringOptions = {}): string {
  if (unquotableAscii.test(value) || (!options.utf8 && nonAscii.test(value))) {
    return `{${utf8.encode(value).length}}\r\n${value}`;
  }
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
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
