import { reply, type SmtpReply } from '@tegami/protocol';
import { createNodeStyleResolver, type ResolverClient } from '@tegami/rpc';
import type { DmarcResultTally, SpamTallyOutcome } from '@tegami/store';
import {
  authenticationResultsField,
  receivedSpfField,
  removeForgedAuthenticationResults,
} from './authentication-results.js';
import { type DispositionPolicy, type DmarcDisposition, dmarcDisposition } from './dmarc-disposition.js';
import { dmarcReportRecord } from './dmarc-report-record.js';
import {
  type AuthenticationInput,
  authenticateMessage,
  type MessageAuthentication,
  timedOutAuthentication,
} from './mail-authentication.js';
import type { SmtpMetrics } from './metrics.js';
import {
  applySpamEdits,
  type SpamFailurePolicy,
  type SpamScanInput,
  type SpamScanner,
  type SpamVerdict,
  spamActionLabel,
  spamDecision,
  spamHeaderFields,
} from './spam-scan.js';

// The checks of a message received on port 25, at the end of DATA, before the reply: the
// verdicts that can refuse the message (DMARC p=reject, rspamd reject, greylist) must be
// known while the client still listens, so that the refusal is the sending MTA's problem
// and never a bounce to a forged sender. Their order: authentication first, so rspamd sees
// our Authentication-Results; then the filter.

export interface MailAuthSettings {
  readonly resolver: ResolverClient;
  /** The whole check of one message (TEGAMI_MAIL_AUTH_TIMEOUT). */
  readonly timeoutMs: number;
  readonly disposition: DispositionPolicy;
}

export interface SpamFilterSettings {
  readonly scanner: SpamScanner;
  readonly timeoutMs: number;
  readonly failure: SpamFailurePolicy;
}

export interface InboundCheckDeps {
  readonly hostname: string;
  readonly auth: MailAuthSettings | undefined;
  readonly spam: SpamFilterSettings | undefined;
  readonly metrics: SmtpMetrics;
}

export interface InboundMessage {
  readonly queueId: string;
  readonly client: { readonly ip: string; readonly helo: string; readonly hostname?: string };
  readonly sender: string;
  readonly recipients: readonly string[];
  /** The message as received, without our trace fields. */
  readonly message: Buffer;
  /** Our Received field, which goes above the message (and below the verdicts). */
  readonly received: string;
}

/** What the checks found, kept with the queue entry for the log and `tegami trace`. */
export interface InboundVerdictSummary {
  readonly spf?: string;
  readonly spfHelo?: string;
  readonly dkim?: readonly { domain: string; selector: string; result: string }[];
  readonly dmarc?: { result: string; domain: string; policy: string; action: string; reason: string };
  readonly arc?: string;
  readonly spam?:
    | { action: string; score: number; required: number; symbols: readonly string[] }
    | { unscanned: string };
  /** What happened to the message. */
  readonly action: 'inbox' | 'junk' | 'reject' | 'tempfail';
}

export interface InboundVerdict {
  /** Set when the message is refused: the reply to give instead of storing it. */
  readonly refusal: SmtpReply | undefined;
  /** File into each recipient's Junk instead of INBOX. */
  readonly junk: boolean;
  /** The message to store: verdict fields, our Received, then the message (edited as the checks asked). */
  readonly raw: Buffer;
  readonly summary: InboundVerdictSummary;
  /** The message's row in its From domain's DMARC aggregate report, refused or not. */
  readonly dmarcReport?: DmarcResultTally | undefined;
}

export async function checkInboundMessage(
  deps: InboundCheckDeps,
  input: InboundMessage,
): Promise<InboundVerdict> {
  let message = input.message;
  let verdictFields = '';
  const summary: { -readonly [K in keyof InboundVerdictSummary]: InboundVerdictSummary[K] } = {
    action: 'inbox',
  };
  let junk = false;
  let dmarcReport: DmarcResultTally | undefined;

  if (deps.auth) {
    const auth = await authenticateWithin(deps.auth, deps.hostname, {
      message,
      ip: input.client.ip,
      helo: input.client.helo,
      sender: input.sender,
    });
    countAuthResults(deps.metrics, auth);
    const disposition = dmarcDisposition(auth, deps.auth.disposition);
    Object.assign(summary, summariseAuth(auth, disposition));
    dmarcReport = dmarcReportRecord(auth, disposition, {
      clientIp: input.client.ip,
      sender: input.sender,
      helo: input.client.helo,
      at: new Date(),
    });
    if (disposition.action === 'reject') {
      const domain = auth.dmarc?.domain ?? '';
      return {
        refusal: reply(550, '5.7.1', `Email rejected per DMARC policy for ${domain}`),
        junk: false,
        raw: message,
        summary: { ...summary, action: 'reject' },
        dmarcReport,
      };
    }
    junk = disposition.action === 'quarantine';
    // Checked on the message as it came; our claims replace any forged ones only then.
    message = removeForgedAuthenticationResults(message, deps.hostname);
    verdictFields =
      authenticationResultsField(deps.hostname, auth) +
      receivedSpfField(auth, { ip: input.client.ip, helo: input.client.helo });
  }

  if (deps.spam) {
    const scanned = await scanWithin(deps.spam, {
      message: Buffer.concat([Buffer.from(verdictFields + input.received, 'latin1'), message]),
      ip: input.client.ip,
      helo: input.client.helo,
      from: input.sender,
      recipients: input.recipients,
      queueId: input.queueId,
      ...(input.client.hostname !== undefined && { hostname: input.client.hostname }),
      mtaName: deps.hostname,
    });
    if ('failure' in scanned) {
      deps.metrics.spamActions.inc({ action: 'unscanned' });
      summary.spam = { unscanned: scanned.failure };
      if (deps.spam.failure === 'tempfail') {
        return {
          refusal: reply(451, '4.7.1', 'Temporary failure scanning the message; try again later'),
          junk: false,
          raw: message,
          summary: { ...summary, action: 'tempfail' },
          dmarcReport,
        };
      }
    } else {
      const verdict = scanned.verdict;
      deps.metrics.spamActions.inc({ action: spamActionLabel(verdict.action) });
      summary.spam = {
        action: verdict.action,
        score: verdict.score,
        required: verdict.requiredScore,
        symbols: verdict.symbols.slice(0, 20),
      };
      const decision = spamDecision(verdict);
      if (decision.refusal) {
        return {
          refusal: decision.refusal,
          junk: false,
          raw: message,
          summary: { ...summary, action: decision.refusal.code >= 500 ? 'reject' : 'tempfail' },
          dmarcReport,
        };
      }
      junk ||= decision.junk;
      message = applySpamEdits(message, verdict);
      verdictFields += spamHeaderFields(verdict);
    }
  }

  summary.action = junk ? 'junk' : 'inbox';
  return {
    refusal: undefined,
    junk,
    raw: Buffer.concat([Buffer.from(verdictFields + input.received, 'latin1'), message]),
    summary,
    dmarcReport,
  };
}

/**
 * The spam filter's verdict as the admin dashboard counts it, once per message: rejected when
 * the filter refused it for good, spam or ham when it let it through (spam: filed as junk on
 * its word). None when it did not scan the message (unscanned, or refused by DMARC first), or
 * asked the sender to come back (greylist, soft reject): the retry is what counts. The caller
 * counts ham and spam only once the message is queued (its 250), as `received` does.
 */
export function spamVerdictTally(summary: InboundVerdictSummary): SpamTallyOutcome | undefined {
  const spam = summary.spam;
  if (!spam || !('action' in spam)) return undefined;
  switch (spam.action as SpamVerdict['action']) {
    case 'reject':
      return 'rejected';
    case 'soft reject':
    case 'greylist':
      return undefined;
    case 'add header':
    case 'rewrite subject':
      return 'spam';
    default:
      return 'ham';
  }
}

/** The checks with a deadline on the whole: past it, temperror, and the lookups are cancelled. */
async function authenticateWithin(
  settings: MailAuthSettings,
  hostname: string,
  input: AuthenticationInput,
): Promise<MessageAuthentication> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), settings.timeoutMs);
  });
  const resolver = createNodeStyleResolver(settings.resolver, {
    signal: controller.signal,
    deadlineMs: Math.min(5_000, settings.timeoutMs),
  });
  try {
    const outcome = await Promise.race([authenticateMessage(input, { hostname, resolver }), deadline]);
    if (outcome === 'timeout') return timedOutAuthentication(input);
    return { ...outcome, timedOut: false };
  } catch {
    // mailauth turns DNS trouble into temperror itself; anything thrown is a failure of the
    // checks, not a verdict on the message.
    return timedOutAuthentication(input);
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

async function scanWithin(
  settings: SpamFilterSettings,
  input: SpamScanInput,
): Promise<{ verdict: SpamVerdict } | { failure: string }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), settings.timeoutMs);
  try {
    return { verdict: await settings.scanner.check(input, controller.signal) };
  } catch (err) {
    return { failure: controller.signal.aborted ? 'timeout' : describeFailure(err) };
  } finally {
    clearTimeout(timer);
  }
}

function describeFailure(err: unknown): string {
  const kind = (err as { kind?: unknown }).kind;
  if (typeof kind === 'string') return kind;
  return err instanceof Error ? err.message.slice(0, 200) : 'error';
}

function countAuthResults(metrics: SmtpMetrics, auth: MessageAuthentication): void {
  metrics.authResults.inc({ method: 'spf', result: auth.spf.result });
  if (auth.helo) metrics.authResults.inc({ method: 'spf_helo', result: auth.helo.result });
  if (auth.dkim.length === 0) metrics.authResults.inc({ method: 'dkim', result: 'none' });
  for (const dkim of auth.dkim) metrics.authResults.inc({ method: 'dkim', result: dkim.result });
  metrics.authResults.inc({ method: 'arc', result: auth.arc.result });
  metrics.authResults.inc({ method: 'dmarc', result: auth.dmarc?.result ?? 'none' });
}

function summariseAuth(
  auth: MessageAuthentication,
  disposition: DmarcDisposition,
): Partial<InboundVerdictSummary> {
  return {
    spf: auth.spf.result,
    ...(auth.helo && { spfHelo: auth.helo.result }),
    dkim: auth.dkim.map((d) => ({ domain: d.domain, selector: d.selector, result: d.result })),
    ...(auth.dmarc && {
      dmarc: {
        result: auth.dmarc.result,
        domain: auth.dmarc.domain,
        policy: auth.dmarc.policy,
        action: disposition.action,
        reason: disposition.reason,
      },
    }),
    arc: auth.arc.result,
  };
}
