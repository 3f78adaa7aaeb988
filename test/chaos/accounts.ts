// Who takes part in a chaos run. Each role has mailboxes of its own, so that what one
// kind of client does (POP3 deletes, IMAP moves) cannot blur what another must find.

export const CHAOS_DOMAIN = 'chaos.test';
/** The scripted peer's domain: ok-*, defer-* (first attempt 451) and reject-* (550, a DSN). */
export const REMOTE_DOMAIN = 'remote.test';
export const CHAOS_PASSWORD = 'chaos-password-1';

/** Submits over 587 (AUTH PLAIN) and receives the DSNs for reject-* recipients. */
export const SENDER = `sender@${CHAOS_DOMAIN}`;
/** Only receive over SMTP; nothing else touches their INBOX. */
export const MAIL_USERS = [`box1@${CHAOS_DOMAIN}`, `box2@${CHAOS_DOMAIN}`];
/**
 * IMAP users: SMTP delivers to their INBOX (sessions only change flags there); their
 * sessions APPEND to Work, STORE, COPY Work→Copies, MOVE Work→Moved, EXPUNGE in Work.
 */
export const IMAP_USERS = [`imap1@${CHAOS_DOMAIN}`, `imap2@${CHAOS_DOMAIN}`, `imap3@${CHAOS_DOMAIN}`];
export const IMAP_MAILBOXES = ['Work', 'Moved', 'Copies'] as const;
/** POP3 users: SMTP delivers to their INBOX; one POP3 client each retrieves and deletes. */
export const POP_USERS = [`pop1@${CHAOS_DOMAIN}`, `pop2@${CHAOS_DOMAIN}`];

export const ALL_USERS = [SENDER, ...MAIL_USERS, ...IMAP_USERS, ...POP_USERS];
/** Local recipients SMTP load may address. */
export const LOCAL_RECIPIENTS = [...MAIL_USERS, ...IMAP_USERS, ...POP_USERS];

export const CHAOS_ID_HEADER = 'X-Chaos-Id';

/** The X-Chaos-Id in a message's header section, or undefined. */
export function chaosIdOf(raw: string | Buffer): string | undefined {
  const text = typeof raw === 'string' ? raw : raw.subarray(0, 64 * 1024).toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  const header = end >= 0 ? text.slice(0, end) : text;
  return /^x-chaos-id:[ \t]*(\S+)/im.exec(header)?.[1];
}
