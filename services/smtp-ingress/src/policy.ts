import type {
  MailboxPath,
  ReversePath,
  SmtpClientInfo,
  SmtpReply,
  SmtpRole,
  SrsOptions,
} from '@tegami/protocol';
import {
  isSrsLocalPart,
  reply,
  reversePathAddress,
  SRS_DEFAULT_MAX_AGE_DAYS,
  srsReverse,
} from '@tegami/protocol';
import {
  classifyRecipient,
  hasPopBeforeSmtp,
  isSenderAllowed,
  postmasterDomain,
  type Queryable,
} from '@tegami/store';

/**
 * What RCPT gets: a refusal, or acceptance, with the address the message is really for when
 * it is not the one given (a bounce to one of our SRS addresses goes to the original sender).
 */
export type RecipientVerdict =
  | { readonly refusal: SmtpReply; readonly deliverTo?: undefined }
  | { readonly refusal?: undefined; readonly deliverTo?: string };

const ACCEPTED: RecipientVerdict = {};

/**
 * Who may send what where. Port 25 accepts mail only for local users and aliases (it is
 * not an open relay); the submission ports accept authenticated users' mail for anywhere,
 * but only from addresses that are theirs.
 */
export class RelayPolicy {
  constructor(
    private readonly db: Queryable,
    private readonly role: SmtpRole,
    /**
     * POP-before-SMTP: a client address that logged in over POP3 lately may relay through
     * port 25, where such old clients send; submission (RFC 6409) always wants AUTH.
     */
    private readonly popBeforeSmtp = false,
    /** SRS secrets (TEGAMI_SRS_SECRET_FILE): bounces to our SRS addresses are taken; none without. */
    private readonly srs?: SrsOptions,
    /** TEGAMI_RECIPIENT_DELIMITER: user+tag@domain is user@domain's (RFC 5233); '' turns it off. */
    private readonly recipientDelimiter?: string,
  ) {}

  async checkSender(client: SmtpClientInfo, from: ReversePath): Promise<SmtpReply | undefined> {
    if (this.role === 'mx') return undefined;
    const account = client.authenticated;
    if (!account) return reply(530, '5.7.0', 'Authentication required');
    const sender = reversePathAddress(from);
    try {
      if (sender !== '' && (await isSenderAllowed(this.db, account.accountId, sender))) return undefined;
    } catch {
      return reply(451, '4.3.0', 'Temporary failure checking the sender; try again later');
    }
    return reply(553, '5.7.1', `<${sender}>: Sender address rejected: not owned by user ${account.address}`);
  }

  /**
   * RFC 5321 §4.1.1.3: a bare <Postmaster> is the postmaster of this host: of the host
   * name when it is a local domain, else of the local domain it is in or the first one
   * added. Never postmaster@<hostname> of a host name that is not local: that would relay.
   */
  async postmasterDomain(hostname: string): Promise<string | SmtpReply> {
    try {
      return (
        (await postmasterDomain(this.db, hostname)) ??
        reply(550, '5.1.1', '<Postmaster>: Recipient address rejected: no local domain here')
      );
    } catch {
      return reply(451, '4.3.0', 'Temporary failure checking the recipient; try again later');
    }
  }

  async checkRecipient(client: SmtpClientInfo, to: MailboxPath): Promise<RecipientVerdict> {
    const { localPart, domain } = to.mailbox;
    const address = `${localPart}@${domain}`;
    let kind: Awaited<ReturnType<typeof classifyRecipient>>;
    try {
      kind = await classifyRecipient(this.db, localPart, domain, this.recipientDelimiter);
    } catch {
      return { refusal: reply(451, '4.3.0', 'Temporary failure checking the recipient; try again later') };
    }
    switch (kind) {
      case 'account':
      case 'alias':
        return ACCEPTED;
      case 'unknown-user':
        if (this.srs && isSrsLocalPart(localPart)) return this.srsRecipient(address);
        // RFC 5321 §4.5.1 wants postmaster@ every local domain to work, and the domain's
        // first user is its postmaster. A domain with no user has nowhere to put the
        // message: accepting it would only bounce it later, to a sender who may be forged.
        // Refused now, the sending MTA tells its own sender, at once.
        if (localPart.toLowerCase() === 'postmaster')
          return {
            refusal: reply(
              550,
              '5.1.1',
              `<${address}>: Recipient address rejected: ${domain} has no postmaster yet`,
            ),
          };
        return { refusal: reply(550, '5.1.1', `<${address}>: Recipient address rejected: User unknown`) };
      case 'remote':
        if (this.role === 'submission' && client.authenticated) return ACCEPTED;
        if (await this.grantedByPop(client)) return ACCEPTED;
        return { refusal: reply(554, '5.7.1', `<${address}>: Relay access denied`) };
    }
  }

  /**
   * An SRS address of a local domain: mail to it (a bounce of forwarded mail) goes back to
   * the address it encodes, if we signed it and it is young enough. Anything else is refused
   * as an unknown user: relaying to whatever `SRS0=…=victim` says would make us an open relay.
   */
  private srsRecipient(address: string): RecipientVerdict {
    const decoded = srsReverse(address, this.srs!, new Date());
    switch (decoded.kind) {
      case 'decoded':
        return { deliverTo: decoded.address };
      case 'not-srs':
        return { refusal: reply(550, '5.1.1', `<${address}>: Recipient address rejected: User unknown`) };
      case 'invalid': {
        const why = {
          malformed: 'not a valid SRS address',
          'bad-signature': 'SRS address with an invalid signature (not one of ours)',
          expired: `SRS address has expired (bounces are accepted for ${this.srs!.maxAgeDays ?? SRS_DEFAULT_MAX_AGE_DAYS} days)`,
        }[decoded.reason];
        return { refusal: reply(550, '5.1.1', `<${address}>: Recipient address rejected: ${why}`) };
      }
    }
  }

  /** Whether a client address has a POP-before-SMTP grant (always false when that is off). */
  async grantedByPop(client: { readonly address: string }): Promise<boolean> {
    if (!this.popBeforeSmtp) return false;
    // A lookup failure denies: the client is told to authenticate or is refused relay.
    return hasPopBeforeSmtp(this.db, client.address).catch(() => false);
  }
}
