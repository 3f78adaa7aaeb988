import { reply, type SmtpReply } from '@tegami/protocol';
import type { RspamdAction, RspamdCheckInput, RspamdClient, RspamdVerdict } from '@tegami/rpc';
import { editHeaderFields, fieldName } from './header-fields.js';

/**
 * What smtp-ingress needs of a spam filter: rspamd's `/checkv2` (`createRspamdClient` of
 * @tegami/rpc), or anything that answers like it in a test or a benchmark.
 */
export type SpamScanner = Pick<RspamdClient, 'check'>;
export type SpamScanInput = RspamdCheckInput;
export type SpamVerdict = RspamdVerdict;
export type SpamAction = RspamdAction;

/** When the filter cannot answer (TEGAMI_RSPAMD_FAILURE): take the message unscanned, or 451. */
export type SpamFailurePolicy = 'accept' | 'tempfail';

/** What the filter's action means for the message. */
export interface SpamDecision {
  readonly refusal: SmtpReply | undefined;
  readonly junk: boolean;
}

export function spamDecision(verdict: SpamVerdict): SpamDecision {
  const why = `Spam message rejected (score ${verdict.score.toFixed(1)})`;
  switch (verdict.action) {
    case 'reject':
      return { refusal: reply(550, '5.7.1', why), junk: false };
    case 'soft reject':
    case 'greylist':
      // Greylisting (and rspamd's rate limits) want the sender to come back later.
      return {
        refusal: reply(
          451,
          '4.7.1',
          `Try again later (${verdict.action === 'greylist' ? 'greylisted' : 'deferred'})`,
        ),
        junk: false,
      };
    case 'add header':
    case 'rewrite subject':
      return { refusal: undefined, junk: true };
    default:
      return { refusal: undefined, junk: false };
  }
}

/** The metric label of an action (`tegami_spam_actions_total{action}`). */
export function spamActionLabel(action: SpamAction | 'unscanned'): string {
  return action.replace(/ /g, '_');
}

/**
 * The message after the filter's header edits: the headers it asks to remove (a sender's
 * own X-Spam lines must not pass for ours) and, for `rewrite subject`, the new Subject.
 * Its added headers are prepended by the caller with the other trace fields.
 */
export function applySpamEdits(message: Buffer, verdict: SpamVerdict): Buffer {
  const remove = new Set(verdict.removeHeaders.map((h) => h.toLowerCase()));
  const subject = verdict.action === 'rewrite subject' ? verdict.subject : undefined;
  if (remove.size === 0 && subject === undefined) return message;
  return editHeaderFields(message, (fields) =>
    fields
      .filter((field) => !remove.has(fieldName(field)))
      .map((field) =>
        subject !== undefined && fieldName(field) === 'subject'
          ? `Subject: ${headerSafe(subject)}\r\n`
          : field,
      ),
  );
}

/** Spam headers to prepend, each on one line with CR/LF removed from the value. */
export function spamHeaderFields(verdict: SpamVerdict): string {
  return verdict.addHeaders
    .filter((h) => /^[\x21-\x39\x3b-\x7e]+$/.test(h.name))
    .map((h) => `${h.name}: ${headerSafe(h.value)}\r\n`)
    .join('');
}

function headerSafe(value: string): string {
  return value.replace(/\r?\n(?=[ \t])/g, '\r\n').replace(/\r?\n(?![ \t])/g, ' ');
}
