import type { CommandGroup } from '../command.js';
import { printTable } from '../table.js';

export const domainCommands: CommandGroup = {
  title: 'Domains',
  word: 'domain',
  description: 'The mail domains this installation receives mail for. Users and aliases live in one.',
  commands: [
    {
      name: 'domain add',
      usage: ['<domain>'],
      summary: 'add a local mail domain',
      description: `Makes <domain> local: mail to it is delivered here (to its users and aliases) and
refused for anyone else in it. Point the domain's MX record at this installation.`,
      examples: ['tegami domain add example.com'],
      run: async (args, ctx) => {
        const { addDomain } = await import('@tegami/store');
        ctx.print(`added domain ${(await addDomain((await ctx.store()).pool, args.one('domain'))).name}`);
        return 0;
      },
    },
    {
      name: 'domain list',
      usage: [''],
      summary: 'list domains with their user and alias counts',
      description: 'Lists the local domains, each with its number of users and aliases.',
      examples: ['tegami domain list'],
      run: async (_args, ctx) => {
        const { listDomains } = await import('@tegami/store');
        const domains = await listDomains((await ctx.store()).pool);
        printTable(
          ctx.print,
          ['DOMAIN', 'USERS', 'ALIASES'],
          domains.map((d) => [d.name, String(d.accounts), String(d.aliases)]),
        );
        return 0;
      },
    },
    {
      name: 'domain remove',
      usage: ['<domain>'],
      summary: 'remove a domain that has no users or aliases',
      description: `Removes a local domain. Refused while it has users or aliases: remove them first,
so that no mailbox is ever dropped by accident.`,
      examples: ['tegami domain remove example.com'],
      run: async (args, ctx) => {
        const { removeDomain } = await import('@tegami/store');
        const name = args.one('domain');
        await removeDomain((await ctx.store()).pool, name);
        ctx.print(`removed domain ${name.toLowerCase()}`);
        return 0;
      },
    },
  ],
};
