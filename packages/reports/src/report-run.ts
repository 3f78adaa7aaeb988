import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Logger } from '@tegami/runtime';
import {
  claimReportRun,
  dmarcResultsFor,
  dueReports,
  finishReportRun,
  newQueueId,
  type OutgoingReport,
  postponeReportRun,
  pruneReportData,
  type ReportRunKey,
  tlsResultsFor,
} from '@tegami/store';
import type pg from 'pg';
import { dmarcAggregateXml } from './dmarc-aggregate-xml.js';
import { type HttpsReportOptions, postTlsReport } from './https-report.js';
import { dmarcReportOf, type Reporter, tlsReportOf } from './report-builders.js';
import { addDays, dayRange, epochSeconds, utcDay } from './report-day.js';
import {
  lookupTlsRptPolicy,
  mayReceiveDmarcReports,
  TemporaryDnsFailure,
  type TxtResolver,
} from './report-dns.js';
import { reportFileName, reportMail } from './report-mail.js';
import { type ReportConfig, type ReportSettings, resolveReportSettings } from './report-settings.js';
import { parseReportUris } from './report-uri.js';
import { tlsReportJson } from './tls-report-json.js';

// One run of the daily reports: every report of the last days that is due (counts and no
// report yet) is claimed, built, and queued as mail to its destinations, exactly once per
// kind, day and domain whichever replica runs it (report-runs.ts in the store).

export interface ReportRunDeps {
  readonly pool: pg.Pool;
  readonly resolver: TxtResolver;
  /** TEGAMI_REPORT_*: who the reports are from. */
  readonly config: ReportConfig;
  /** TEGAMI_HOSTNAME: the sender's domain when there is no local domain yet. */
  readonly hostname: string;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
  /** Names this process in claims. */
  readonly worker: string;
  /** Publishes the job of a queued report at once; without it a due scan finds it within seconds. */
  readonly publish?: ((queueId: string) => Promise<void>) | undefined;
  readonly https?: HttpsReportOptions | undefined;
}

export interface ReportOutcome extends ReportRunKey {
  readonly outcome: 'sent' | 'skipped' | 'postponed' | 'failed' | 'taken';
  readonly detail: string;
  readonly queueIds: readonly string[];
}

/** Days before today a run still sends the report of (a deployment down for a weekend catches up). */
export const REPORT_LOOKBACK_DAYS = 7;
/** Counts and runs are kept this many days, then forgotten. */
export const REPORT_RETENTION_DAYS = 14;
// A claim outlives a stuck or dead replica by this much at most.
const CLAIM_MS = 10 * 60_000;
// A DNS lookup that failed for now is tried again this much later, up to MAX_ATTEMPTS times.
const RETRY_MS = 30 * 60_000;
const MAX_ATTEMPTS = 8;

/**
 * Sends the due reports of the days before `now`'s UTC day (the last REPORT_LOOKBACK_DAYS of
 * them), or of `day` alone when given, and forgets what is older than the retention.
 */
export async function runReports(
  deps: ReportRunDeps,
  options: { readonly now: Date; readonly day?: string | undefined },
): Promise<ReportOutcome[]> {
  const today = utcDay(options.now);
  const from = options.day ?? addDays(today, -REPORT_LOOKBACK_DAYS);
  const to = options.day ?? addDays(today, -1);
  const outcomes: ReportOutcome[] = [];
  const due = await dueReports(deps.pool, from, to);
  if (due.length > 0) {
    const settings = await resolveReportSettings(deps.pool, deps.config, deps.hostname);
    for (const key of due) outcomes.push(await runOne(deps, settings, key));
  }
  const pruned = await pruneReportData(deps.pool, addDays(today, -REPORT_RETENTION_DAYS));
  if (pruned > 0) deps.logger.info({ pruned }, 'forgot report counts past their retention');
  return outcomes;
}

interface Built {
  readonly state: 'sent' | 'skipped';
  readonly reportId?: string;
  readonly detail: string;
  readonly messages: OutgoingReport[];
}

async function runOne(
  deps: ReportRunDeps,
  settings: ReportSettings,
  key: ReportRunKey,
): Promise<ReportOutcome> {
  const attempt = await claimReportRun(deps.pool, key, deps.worker, CLAIM_MS);
  if (attempt === undefined)
    return { ...key, outcome: 'taken', detail: 'another worker has it', queueIds: [] };
  let built: Built;
  try {
    built =
      key.kind === 'tlsrpt'
        ? await buildTlsReport(deps, settings, key)
        : await buildDmarcReport(deps, settings, key);
  } catch (err) {
    // A lookup that failed for now, destinations that did not answer, or a bug: try again
    // later rather than lose the report.
    const detail = err instanceof TemporaryDnsFailure ? err.message : `error: ${(err as Error).message}`;
    const state = await postponeReportRun(deps.pool, key, deps.worker, {
      retryInMs: RETRY_MS,
      maxAttempts: MAX_ATTEMPTS,
      detail,
    });
    deps.logger.warn({ ...key, attempt, detail, state }, 'report not sent yet');
    return { ...key, outcome: state === 'failed' ? 'failed' : 'postponed', detail, queueIds: [] };
  }
  const finished = await finishReportRun(deps.pool, key, deps.worker, built);
  if (!finished)
    return { ...key, outcome: 'taken', detail: 'the claim passed to another worker', queueIds: [] };
  const queueIds = built.messages.map((m) => m.queueId);
  deps.logger.info(
    { ...key, state: built.state, reportId: built.reportId, detail: built.detail },
    'daily report',
  );
  for (const queueId of queueIds) {
    await deps
      .publish?.(queueId)
      .catch((err) =>
        deps.logger.warn({ err, queueId }, 'could not queue the report job; the due scan will'),
      );
  }
  return { ...key, outcome: built.state, detail: built.detail, queueIds };
}

function newReporter(settings: ReportSettings, day: string): Reporter & { readonly uniqueId: string } {
  const uniqueId = randomBytes(8).toString('hex');
  return {
    orgName: settings.orgName,
    contact: settings.contact,
    reportId: `${day}.${uniqueId}@${settings.submitter}`,
    uniqueId,
  };
}

async function buildTlsReport(
  deps: ReportRunDeps,
  settings: ReportSettings,
  key: ReportRunKey,
): Promise<Built> {
  const policy = await lookupTlsRptPolicy(deps.resolver, key.domain);
  if (policy.kind === 'none')
    return { state: 'skipped', detail: `_smtp._tls.${key.domain}: ${policy.why}`, messages: [] };
  const counts = await tlsResultsFor(deps.pool, key.day, key.domain);
  const reporter = newReporter(settings, key.day);
  const report = tlsReportOf(reporter, key.day, key.domain, counts);
  const gzipped = gzipSync(JSON.stringify(tlsReportJson(report)));
  const fileName = reportFileName({
    kind: 'tlsrpt',
    submitter: settings.submitter,
    policyDomain: key.domain,
    begin: epochSeconds(report.begin),
    end: epochSeconds(report.end),
    uniqueId: reporter.uniqueId,
  });
  const messages: OutgoingReport[] = [];
  const notes: string[] = [...policy.problems];
  let posted = 0;
  for (const destination of policy.destinations) {
    if (destination.kind === 'mailto') {
      messages.push(
        outgoing(settings, 'tlsrpt', key.domain, reporter, destination.address, fileName, gzipped),
      );
      notes.push(`mailto:${destination.address}`);
      continue;
    }
    try {
      const status = await postTlsReport(destination.url, gzipped, deps.https);
      if (status >= 200 && status < 300) posted++;
      notes.push(`${destination.url}: HTTP ${status}`);
    } catch (err) {
      notes.push(`${destination.url}: ${(err as Error).message}`);
    }
  }
  // Only https destinations, none of which took it: worth another try later.
  if (messages.length === 0 && posted === 0)
    throw new Error(`no https destination took the report: ${notes.join('; ')}`);
  return { state: 'sent', reportId: reporter.reportId, detail: notes.join('; '), messages };
}

async function buildDmarcReport(
  deps: ReportRunDeps,
  settings: ReportSettings,
  key: ReportRunKey,
): Promise<Built> {
  const counts = await dmarcResultsFor(deps.pool, key.day, key.domain);
  if (counts.length === 0) return { state: 'skipped', detail: 'no records', messages: [] };
  const rua = parseReportUris(counts[0]!.tally.rua, { sizes: true });
  const notes: string[] = [...rua.problems];
  if (rua.destinations.length === 0)
    return {
      state: 'skipped',
      detail: ['the DMARC record asks for no aggregate reports', ...notes].join('; '),
      messages: [],
    };
  const reporter = newReporter(settings, key.day);
  const xml = dmarcAggregateXml(dmarcReportOf(reporter, key.day, key.domain, counts));
  const gzipped = gzipSync(xml);
  const { begin, end } = dayRange(key.day);
  const fileName = reportFileName({
    kind: 'dmarc',
    submitter: settings.submitter,
    policyDomain: key.domain,
    begin: epochSeconds(begin),
    end: epochSeconds(end),
    uniqueId: reporter.uniqueId,
  });
  const messages: OutgoingReport[] = [];
  for (const destination of rua.destinations) {
    if (destination.kind !== 'mailto') {
      notes.push(`${destination.uri}: only mailto: destinations get DMARC reports`);
      continue;
    }
    if (!(await mayReceiveDmarcReports(deps.resolver, key.domain, destination))) {
      notes.push(
        `${destination.uri}: not authorized (no v=DMARC1 at ${key.domain}._report._dmarc.${destination.domain})`,
      );
      continue;
    }
    const message = outgoing(settings, 'dmarc', key.domain, reporter, destination.address, fileName, gzipped);
    // RFC 7489 §6.2: never larger than the destination's limit.
    if (destination.maxBytes !== undefined && message.raw.length > destination.maxBytes) {
      notes.push(`${destination.uri}: the report (${message.raw.length} octets) is over its limit`);
      continue;
    }
    messages.push(message);
    notes.push(`mailto:${destination.address}`);
  }
  if (messages.length === 0) return { state: 'skipped', detail: notes.join('; '), messages };
  return { state: 'sent', reportId: reporter.reportId, detail: notes.join('; '), messages };
}

function outgoing(
  settings: ReportSettings,
  kind: 'tlsrpt' | 'dmarc',
  policyDomain: string,
  reporter: Reporter,
  to: string,
  fileName: string,
  gzipped: Buffer,
): OutgoingReport {
  const mail = reportMail({
    kind,
    from: settings.from,
    to,
    policyDomain,
    submitter: settings.submitter,
    reportId: reporter.reportId,
    fileName,
    gzipped,
    date: new Date(),
  });
  return {
    queueId: newQueueId(),
    raw: mail.raw,
    sender: settings.from,
    recipient: to,
    messageId: mail.messageId,
  };
}
