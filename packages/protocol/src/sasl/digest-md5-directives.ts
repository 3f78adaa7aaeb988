/**
 * The `name=value` lists DIGEST-MD5 messages are made of (RFC 2831 §7.1, the HTTP #rule):
 * comma-separated, optional linear white space, empty elements allowed, values a token or a
 * quoted-string with backslash escapes.
 */

// RFC 2616 §2.2 token: any CHAR but CTLs and separators.
const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;
// Unquoted values are taken up to the next comma or space: some clients leave digest-uri
// unquoted, and nothing is lost by accepting it.
const BARE_VALUE = /[^,\s"]+/y;
const LWS = /[ \t\r\n]*/y;

/**
 * Parses a digest-response. The text is the message decoded as latin1, so each character is
 * one byte and values keep their bytes for hashing. Names are lower-cased (they are
 * case-insensitive); a directive given twice or a syntax error gives undefined.
 */
export function parseDirectives(text: string): Map<string, string> | undefined {
  const directives = new Map<string, string>();
  let at = 0;
  const skip = (pattern: RegExp): string | undefined => {
    pattern.lastIndex = at;
    const match = pattern.exec(text);
    if (!match) return undefined;
    at = pattern.lastIndex;
    return match[0];
  };
  for (;;) {
    skip(LWS);
    if (at >= text.length) return directives;
    if (text[at] === ',') {
      at++;
      continue;
    }
    const name = skip(TOKEN)?.toLowerCase();
    skip(LWS);
    if (name === undefined || text[at] !== '=') return undefined;
    at++;
    skip(LWS);
    const value = text[at] === '"' ? quotedString() : skip(BARE_VALUE);
    if (value === undefined || directives.has(name)) return undefined;
    directives.set(name, value);
    skip(LWS);
    if (at < text.length && text[at] !== ',') return undefined;
  }

  function quotedString(): string | undefined {
    let value = '';
    for (at++; at < text.length; at++) {
      const char = text[at]!;
      if (char === '"') {
        at++;
        return value;
      }
      if (char === '\\') {
        at++;
        if (at >= text.length) return undefined;
        value += text[at];
      } else {
        value += char;
      }
    }
    return undefined;
  }
}

/** A quoted-string (RFC 2616 §2.2) holding the value. */
export function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}
