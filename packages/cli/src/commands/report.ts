import { type CommandContext, type CommandGroup, UsageError } from '../command.js';
import { JSON_OPTION, printJson } from '../json-output.js';
import { printTable } from '../table.js';

// The daily TLS-RPT and DMARC aggregate reports (issue 15), by hand: the delivery-workers send
// them shortly after UTC midnight on their own; these commands show what became of them and
// send those of a day now (after an outage, or to see one go).

export const reportCommands: CommandGroup = {
  title: 'Reports',
  word: 'report',
  description: `The daily aggregate reports sent to other domains: DMARC (RFC 7489) about the mail
they sent us, TLS-RPT (RFC 8460) about our TLS sessions with their MX hosts. Each is sent
once, shortly after UTC midnight, by one of the delivery workers.`,
  commands: [
    {
      name: 'report list',
      usage: ['[--json]'],
      summary: 'the reports of the last week: sent, skipped (and why), waiting',
      description: `Lists the reports of the last seven days: each kind, day and domain, whether it was
sent (and where), skipped (the domain asks for none, or the destination is not
authorized), waits for another attempt (DNS failed), or failed for good.`,
      options: JSON_OPTION,
      examples: ['tegami report list', 'tegami report list --json'],
      run: async (args, ctx) => {
        const { listReportRuns } = await import('@tegami/store');
        const { addDays, utcDay } = await import('@tegami/reports');
        const runs = await listReportRuns((await ctx.store()).pool, addDays(utcDay(new Date()), -7));
        if (args.has('--json')) {
          printJson(
            ctx.print,
            runs.map((r) => ({
              day: r.day,
              kind: r.kind,
              domain: r.domain,
              state: r.state,
              detail: r.detail ?? null,
            })),
          );
          return 0;
        }
        printTable(
          ctx.print,
          ['DAY', 'KIND', 'DOMAIN', 'STATE', 'DETAIL'],
          runs.map((r) => [r.day, r.kind, r.domain, r.state, r.detail ?? '-']),
        );
        return 0;
      },
    },
    {
      name: 'report send',
      usage: ['[<day>]'],
      summary: 'send the due reports now, of one day (YYYY-MM-DD) or the last week',
      description: `Sends now the reports that are due: of <day> (UTC, YYYY-MM-DD, before today), or of
each of the last seven days. A report already sent is not sent again, whoever sent it.
The messages go into the queue; a delivery worker takes them within seconds. Looks up
the domains' records through the dns-resolver (TEGAMI_RESOLVER_TARGET; the standalone's
own while it runs). Exits 1 when a report could not be sent yet.`,
      examples: ['tegami report send', 'tegami report send 2026-05-01'],
      run: async (args, ctx) => sendReports(args.optional('day'), ctx),
    },
  ],
};

async function sendReports(dayText: string | undefined, ctx: CommandContext): Promise<number> {
  const { parseDay, runReports, utcDay } = await import('@tegami/reports');
  const day = dayText === undefined ? undefined : parseDay(dayText);
  if (dayText !== undefined && day === undefined)
    throw new UsageError(`"${dayText}" is not a day (YYYY-MM-DD)`);
  const now = new Date();
  // Today's report would be sent with the day half over, and then never again.
  if (day !== undefined && day >= utcDay(now)) throw new UsageError(`${day} is not over yet (UTC)`);
  const { createResolverClient, standaloneResolverTarget } = await import('@tegami/rpc');
  const { hostname } = await import('node:os');
  // The lookups go where the delivery-workers' do: no guess from another resolver decides
  // whether a report is sent (and so never sent again).
  const target = ctx.config.databaseUrl
    ? ctx.config.resolverTarget
    : standaloneResolverTarget(ctx.config.dataDir);
  if (!target) {
    ctx.warn(
      'tegami: the standalone is not running, so there is no dns-resolver to ask; its delivery worker',
    );
    ctx.warn('sends the reports itself when it runs with TEGAMI_REPORTS=true');
    return 1;
  }
  const resolver = createResolverClient(target);
  try {
    const outcomes = await runReports(
      {
        pool: (await ctx.store()).pool,
        resolver,
        config: {
          reportFrom: ctx.config.reportFrom,
          reportOrgName: ctx.config.reportOrgName,
          reportContact: ctx.config.reportContact,
        },
        hostname: ctx.config.hostname,
        logger: { info: () => undefined, warn: () => undefined },
        worker: `cli-${hostname()}-${process.pid}`,
      },
      { now, day },
    );
    printTable(
      ctx.print,
      ['DAY', 'KIND', 'DOMAIN', 'OUTCOME', 'DETAIL'],
      outcomes.map((o) => [o.day, o.kind, o.domain, o.outcome, o.detail]),
    );
    return outcomes.some((o) => o.outcome === 'postponed' || o.outcome === 'failed') ? 1 : 0;
  } finally {
    resolver.close();
  }
}
