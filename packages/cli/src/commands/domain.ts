import { type CommandGroup, UsageError } from '../command.js';
import { JSON_OPTION, printJson } from '../json-output.js';
import { count, describeRemovedMail } from '../removed-mail.js';
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
      usage: ['[--json]'],
      summary: 'list domains with their user and alias counts',
      description: 'Lists the local domains, each with its number of users and aliases.',
      options: JSON_OPTION,
      examples: ['tegami domain list', 'tegami domain list --json'],
      run: async (args, ctx) => {
        const { listDomains } = await import('@tegami/store');
        const domains = await listDomains((await ctx.store()).pool);
        if (args.has('--json')) {
          printJson(
            ctx.print,
            domains.map((d) => ({ name: d.name, users: d.accounts, aliases: d.aliases })),
          );
          return 0;
        }
        printTable(
          ctx.print,
          ['DOMAIN', 'USERS', 'ALIASES'],
          domains.map((d) => [d.name, String(d.accounts), String(d.aliases)]),
        );
        return 0;
      },
    },
    {
      name: 'domain set',
      usage: ['<domain> --plus-addressing=<on|off>'],
      summary: 'turn subaddresses (user+tag@domain) on or off for a domain',
      description: `With subaddresses on (the default), mail to user+tag@<domain> goes to user@<domain>
when no user or alias has the whole address (RFC 5233; the separator is
TEGAMI_RECIPIENT_DELIMITER), and its Sieve script sees the tag as :detail. Off, such
addresses are refused as unknown users.`,
      options: { '--plus-addressing': 'on or off' },
      examples: ['tegami domain set example.com --plus-addressing off'],
      run: async (args, ctx) => {
        const { setPlusAddressing, StoreError } = await import('@tegami/store');
        const name = args.one('domain');
        const value = args.value('--plus-addressing');
        if (value !== 'on' && value !== 'off') throw new UsageError('--plus-addressing takes on or off');
        if (!(await setPlusAddressing((await ctx.store()).pool, name, value === 'on')))
          throw new StoreError('not_found', `no domain ${name.toLowerCase()}`);
        ctx.print(`subaddresses ${value} for ${name.toLowerCase()}`);
        return 0;
      },
    },
    {
      name: 'domain remove',
      usage: ['<domain> [--with-users]'],
      summary: 'remove a domain (with --with-users: its users and all their mail too)',
      description: `Removes a local domain. Refused while it has users or aliases, so that no mailbox
is ever dropped by accident: remove them first, or say --with-users to remove them with it,
every message in their mailboxes and the stored bytes no other mailbox or queue entry holds.
Says how much went. Refused even then while an alias of another domain delivers to one of
its users.`,
      options: { '--with-users': 'remove its users (with all their mail), aliases and DKIM keys too' },
      examples: ['tegami domain remove example.com', 'tegami domain remove example.com --with-users'],
      run: async (args, ctx) => {
        const name = args.one('domain');
        const { pool } = await ctx.store();
        if (!args.has('--with-users')) {
          const { removeDomain } = await import('@tegami/store');
          await removeDomain(pool, name);
          ctx.print(`removed domain ${name.toLowerCase()}`);
          return 0;
        }
        const { removeDomainWithUsers } = await import('@tegami/store');
        const removed = await removeDomainWithUsers(pool, name);
        ctx.print(
          `removed domain ${name.toLowerCase()} with ${count(removed.users, 'user', 'users')} and ` +
            `${count(removed.aliases, 'alias', 'aliases')}: ${describeRemovedMail(removed)}`,
        );
        return 0;
      },
    },
  ],
};
