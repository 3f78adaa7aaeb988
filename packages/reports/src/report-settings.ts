import { parseMailboxAddress } from '@tegami/protocol';
import { optional, string, variable } from '@tegami/runtime/config';
import { listLocalDomains, type Queryable } from '@tegami/store';

// Who the reports say they are from (TEGAMI_REPORT_FROM, TEGAMI_REPORT_ORG_NAME,
// TEGAMI_REPORT_CONTACT), read the same way by the delivery-worker, the standalone and the CLI.

/** The settings as configured: each may be unset. */
export interface ReportConfig {
  readonly reportFrom?: string | undefined;
  readonly reportOrgName?: string | undefined;
  readonly reportContact?: string | undefined;
}

/** The settings a run uses, defaults filled in. */
export interface ReportSettings {
  /** The From: and envelope sender of every report. */
  readonly from: string;
  /** Our domain as the reports name it (Submitter, the file names): the from address's. */
  readonly submitter: string;
  readonly orgName: string;
  readonly contact: string;
}

export function reportSettings() {
  return {
    reportFrom: optional(
      variable('TEGAMI_REPORT_FROM', (value, fail) => {
        const parsed = parseMailboxAddress(value);
        if (!parsed.ok) fail(`not a mail address (${parsed.problem})`);
        return value.trim();
      }),
    ),
    reportOrgName: optional(string('TEGAMI_REPORT_ORG_NAME')),
    reportContact: optional(string('TEGAMI_REPORT_CONTACT')),
  };
}

/**
 * The defaults are worked out at each run, as domains come and go: `noreply-reports@` the
 * first local domain (alphabetically), or the host name when there is none yet.
 */
export async function resolveReportSettings(
  db: Queryable,
  config: ReportConfig,
  hostname: string,
): Promise<ReportSettings> {
  if (config.reportFrom !== undefined && !parseMailboxAddress(config.reportFrom).ok)
    throw new Error(`TEGAMI_REPORT_FROM is not a mail address: ${config.reportFrom}`);
  const from = config.reportFrom ?? `noreply-reports@${(await listLocalDomains(db))[0] ?? hostname}`;
  const submitter = from.slice(from.lastIndexOf('@') + 1).toLowerCase();
  return {
    from,
    submitter,
    orgName: config.reportOrgName ?? submitter,
    contact: config.reportContact ?? from,
  };
}
