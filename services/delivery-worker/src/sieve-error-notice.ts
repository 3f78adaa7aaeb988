import { randomBytes } from 'node:crypto';
import { rfc5322Date } from '@tegami/protocol';

// The message a user finds in their INBOX when their Sieve script could not run: mail is
// then kept in INBOX (RFC 5228 §2.10.6), which they would otherwise notice only as filtering
// that silently stopped. Sent once per version of the script (sieve_error_notices): a
// broken script must not add a notice to every message it fails on.

export interface SieveErrorNoticeInput {
  /** This server's name: the notice is from MAILER-DAEMON@<hostname>. */
  readonly hostname: string;
  /** The user's address. */
  readonly to: string;
  /** The script's name as the user gave it. */
  readonly scriptName: string;
  /** 'compile': the script is not valid Sieve; 'run': it failed on a message. */
  readonly phase: 'compile' | 'run';
  /** The error, with its line and column. */
  readonly error: string;
  /** Subject and Message-ID of the message it failed on, to find it in INBOX. */
  readonly subject: string | null;
  readonly messageId: string | null;
  readonly date: Date;
}

export function buildSieveErrorNotice(input: SieveErrorNoticeInput): Buffer {
  const what =
    input.phase === 'compile' ? 'cannot be run: it is not valid Sieve' : 'stopped with an error on a message';
  const body = [
    `Your Sieve script "${oneLine(input.scriptName)}" ${what}:`,
    '',
    `  ${oneLine(input.error)}`,
    '',
    'Mail is delivered to your INBOX, unfiltered, until the script is fixed.',
    ...(input.messageId || input.subject
      ? [
          'The message it happened with is in your INBOX:',
          ...(input.subject ? [`  Subject: ${oneLine(input.subject)}`] : []),
          ...(input.messageId ? [`  Message-ID: ${oneLine(input.messageId)}`] : []),
        ]
      : []),
    '',
    'You will not be told again about this version of the script.',
    '',
  ];
  const head = [
    `From: Mail Delivery System <MAILER-DAEMON@${input.hostname}>`,
    `To: <${input.to}>`,
    `Subject: Sieve script "${oneLine(input.scriptName)}" failed`,
    `Date: ${rfc5322Date(input.date)}`,
    `Message-ID: <sieve-error.${input.date.getTime()}.${randomBytes(6).toString('hex')}@${input.hostname}>`,
    // RFC 3834 §5: a notice by a program, which no auto-responder answers.
    'Auto-Submitted: auto-generated',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
  ];
  return Buffer.from(`${[...head, ...body].join('\r\n')}`, 'utf8');
}

/** Header-safe and short: a script name or error is the user's text. */
function oneLine(text: string): string {
  const flat = text.replace(/[\r\n\t]+/g, ' ');
  return flat.length > 500 ? `${flat.slice(0, 497)}...` : flat;
}
