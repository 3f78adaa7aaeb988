import type { MailParams, RcptParams } from './params.js';
import type { ReversePath } from './path.js';
import { reply, type SmtpReply } from './reply.js';
import type { MailboxPath, SmtpEnvelope } from './session-config.js';
import type { DataSink } from './smtp-reader.js';

/** One mail transaction (RFC 5321 §3.3): from MAIL to the end of DATA or the last BDAT. */
export interface Transaction {
  from: ReversePath;
  mailParams: MailParams;
  recipients: { to: MailboxPath; params: RcptParams; address: string }[];
  /** BDAT chunks so far (RFC 3030); undefined until the first BDAT. */
  chunks?: MessageBytes;
  chunkBytes: number;
  /** A BDAT sequence that failed: later chunks are read and dropped (RFC 3030 §3). */
  chunkFailure?: SmtpReply;
}

export function envelopeOf(tx: Transaction): SmtpEnvelope {
  return { from: tx.from, mailParams: tx.mailParams, recipients: tx.recipients };
}

// RFC 2045 §2.7-2.8: 7bit and 8bit data never hold a NUL (RFC 5322 §4.1: "no longer
// allowed"), and BINARYMIME (RFC 3030), the only body type that may, is not offered. IMAP
// cannot serve a NUL outside BINARY and many clients stop at one; Cyrus refuses such
// messages too. Refused rather than stripped: changing the bytes would be worse. Reply text
// is US-ASCII (RFC 5321 §4.2: textstring), hence "section", not the section sign.
export const NUL_REFUSED = reply(
  550,
  '5.6.0',
  'Error: NUL character in message: refused (RFC 2045 section 2.8)',
);
export const TOO_BIG = reply(552, '5.3.4', 'Message size exceeds fixed maximum message size');

/**
 * The bytes of the message being received, kept until its end. Once a NUL turns up the
 * message is refused whatever follows, so nothing more is kept.
 */
export class MessageBytes implements DataSink {
  private parts: Buffer[] = [];
  private size = 0;
  hasNul = false;

  write(chunk: Buffer): void {
    if (this.hasNul) return;
    if (chunk.includes(0)) {
      this.hasNul = true;
      this.parts = [];
      return;
    }
    this.parts.push(Buffer.from(chunk));
    this.size += chunk.length;
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts, this.size);
  }
}
