// What a ManageSieve server writes (RFC 5804 §4): strings as quoted strings when they can
// be one, literals `{n}` (§4 literal-s2c) when not, and the OK/NO/BYE responses with their
// response codes (§1.3).

/** §4: a quoted string holds at most 1024 octets, and no CR, LF or NUL. */
const MAX_QUOTED_OCTETS = 1024;

/** A string as the server sends it: quoted when it can be, a literal otherwise. */
export function sieveString(value: string | Uint8Array): string | Buffer {
  const octets = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  if (octets.length <= MAX_QUOTED_OCTETS && !octets.some((b) => b === 0x0d || b === 0x0a || b === 0))
    return `"${octets.toString('utf8').replace(/[\\"]/g, '\\$&')}"`;
  return Buffer.concat([Buffer.from(`{${octets.length}}\r\n`, 'latin1'), octets]);
}

/** §1.3 response codes. QUOTA's sub-codes and TAG/SASL carry what the client needs to act. */
export type ManageSieveCode =
  | 'AUTH-TOO-WEAK'
  | 'ENCRYPT-NEEDED'
  | 'QUOTA'
  | 'QUOTA/MAXSCRIPTS'
  | 'QUOTA/MAXSIZE'
  | 'TRANSITION-NEEDED'
  | 'TRYLATER'
  | 'ACTIVE'
  | 'NONEXISTENT'
  | 'ALREADYEXISTS'
  | 'WARNINGS'
  /** NOOP's tag, echoed (§2.13). */
  | { readonly tag: string }
  /** SASL additional data with success (§2.1), base64. */
  | { readonly sasl: string };

export interface ManageSieveResponse {
  readonly status: 'OK' | 'NO' | 'BYE';
  readonly code?: ManageSieveCode;
  /** Human-readable, for the user (§1.3): sent as a string, quoted or literal. */
  readonly text?: string;
}

/** One response, its CRLF included: `NO (NONEXISTENT) "no such script"`. */
export function responseBytes(response: ManageSieveResponse): string | Buffer {
  const code = response.code === undefined ? '' : ` (${codeText(response.code)})`;
  const head = `${response.status}${code}`;
  if (response.text === undefined) return `${head}\r\n`;
  const text = sieveString(response.text);
  return typeof text === 'string'
    ? `${head} ${text}\r\n`
    : Buffer.concat([Buffer.from(`${head} `, 'latin1'), text, Buffer.from('\r\n', 'latin1')]);
}

function codeText(code: ManageSieveCode): string {
  if (typeof code === 'string') return code;
  if ('tag' in code) return `TAG ${stringText(code.tag)}`;
  return `SASL ${stringText(code.sasl)}`;
}

/** Inside a response code the string must stay on the line: quoted, or a literal. */
function stringText(value: string): string {
  const encoded = sieveString(value);
  return typeof encoded === 'string' ? encoded : encoded.toString('utf8');
}

/** A capability line (§1.7): `"SIEVE" "fileinto vacation"`, or a bare `"STARTTLS"`. */
export function capabilityLine(name: string, value?: string): string {
  return value === undefined ? `"${name}"\r\n` : `"${name}" ${stringText(value)}\r\n`;
}
