import type { CommandGroup } from '../command.js';

export const mtaStsCommands: CommandGroup = {
  title: 'MTA-STS',
  commands: [
    {
      name: 'mta-sts',
      usage: [''],
      summary: 'print the MTA-STS policy and the DNS records that publish it',
      description: `Prints the MTA-STS policy (RFC 8461) smtp-ingress serves for every local domain, made
from TEGAMI_MTA_STS_MODE, TEGAMI_MTA_STS_MX (default TEGAMI_HOSTNAME) and TEGAMI_MTA_STS_MAX_AGE
as this command sees them (run it with the settings smtp-ingress has), then for each domain the
two DNS records to publish: the _mta-sts TXT record, whose id changes whenever the policy does
(publish it again after changing a setting), and the mta-sts host name, which must lead to the
policy host (smtp-ingress's TEGAMI_MTA_STS_PORT behind port 443, or the chart's Ingress).`,
      examples: [
        'tegami mta-sts',
        'TEGAMI_MTA_STS_MODE=enforce TEGAMI_MTA_STS_MX=mx1.example.com,mx2.example.com tegami mta-sts',
      ],
      run: async (_args, ctx) => {
        const [{ listLocalDomains }, { mtaStsPolicyId, renderMtaStsPolicy, renderMtaStsRecord }] =
          await Promise.all([import('@tegami/store'), import('@tegami/protocol')]);
        const policy = ctx.config.mtaStsPolicy;
        if (!policy) throw new Error('no MTA-STS settings were read');
        const text = renderMtaStsPolicy(policy);
        const record = renderMtaStsRecord(mtaStsPolicyId(text));
        const domains = await listLocalDomains((await ctx.store()).pool);
        ctx.print('; The policy, served at https://mta-sts.<domain>/.well-known/mta-sts.txt:');
        for (const line of text.trimEnd().split('\r\n')) ctx.print(`;   ${line}`);
        if (domains.length === 0) ctx.warn('tegami: no local domains yet: add one with `tegami domain add`');
        for (const domain of domains) {
          ctx.print(`_mta-sts.${domain}. 3600 IN TXT "${record}"`);
          ctx.print(`; mta-sts.${domain}.: an A/AAAA record (or CNAME) for the policy host`);
        }
        return 0;
      },
    },
  ],
};
