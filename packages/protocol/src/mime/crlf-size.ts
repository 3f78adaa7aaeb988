// The size of a message in its canonical form, every line ending CRLF (RFC 5322 §2.1,
// RFC 5321 §2.3.8). Stored messages normally have CRLF already; one with bare LF (IMAP
// APPEND accepts it) is sent with CRLF by POP3 (RFC 1939 §3), whose LIST counts those
// CRs. It lives here, below the protocols, because delivery and APPEND record it with
// the MIME description (describe-message.ts) and POP3 sends by it (pop3/wire.ts).

const CR = 0x0d;
const LF = 0x0a;

/** Octets of `raw` with every bare LF counted as CRLF. */
export function crlfSize(raw: Uint8Array): number {
  let size = raw.length;
  for (let i = 0; i < raw.length; i++) if (raw[i] === LF && (i === 0 || raw[i - 1] !== CR)) size++;
  return size;
}
