import type { CommandGroup } from '../command.js';
import { JSON_OPTION, printJson } from '../json-output.js';
import { printTable } from '../table.js';

export const aliasCommands: CommandGroup = {
  title: 'Aliases',
  word: 'alias',
  description: `An alias is an address in a local domain that delivers to other addresses: users,
other aliases, or addresses in other domains (forwarding).`,
  commands: [
    {
      name: 'alias add',
      usage: ['<alias> <destination>...'],
      summary: 'deliver mail for <alias> to the destinations',
      description: `Creates <alias>, or adds destinations to it. A destination in a local domain must be
a user or an alias already (mail to anything else would be accepted, then bounce); an
address in another domain is forwarded there.`,
      examples: [
        'tegami alias add postmaster@example.com alice@example.com',
        'tegami alias add team@example.com alice@example.com bob@partner.example',
      ],
      run: async (args, ctx) => {
        const { addAlias } = await import('@tegami/store');
        const alias = await addAlias((await ctx.store()).pool, args.one('alias'), args.all('destination'));
        ctx.print(`${alias.address} → ${alias.destinations.join(', ')}`);
        return 0;
      },
    },
    {
      name: 'alias list',
      usage: ['[<domain>] [--json]'],
      summary: 'list aliases and their destinations',
      description: `Lists the aliases (of one domain, or all) with their destinations. A destination
marked "(no such user)" is in a local domain but is neither a user nor an alias, so mail
to it bounces: a database from before such aliases were refused may hold some.`,
      options: JSON_OPTION,
      examples: ['tegami alias list', 'tegami alias list example.com --json'],
      run: async (args, ctx) => {
        const { listAliases } = await import('@tegami/store');
        const aliases = await listAliases((await ctx.store()).pool, args.optional('domain')?.toLowerCase());
        if (args.has('--json')) {
          // dangling: the destinations that are in a local domain but neither a user nor an alias.
          printJson(
            ctx.print,
            aliases.map((a) => ({ address: a.address, destinations: a.destinations, dangling: a.dangling })),
          );
          return 0;
        }
        printTable(
          ctx.print,
          ['ALIAS', 'DESTINATIONS'],
          aliases.map((a) => [
            a.address,
            a.destinations.map((d) => (a.dangling.includes(d) ? `${d} (no such user)` : d)).join(', '),
          ]),
        );
        const dangling = aliases.flatMap((a) => a.dangling.map((d) => [a.address, d] as const));
        if (dangling.length > 0) {
          const [alias, destination] = dangling[0]!;
          ctx.warn(
            `tegami: ${dangling.length === 1 ? 'one destination leads' : `${dangling.length} destinations lead`} nowhere (marked "no such user"): mail to ${dangling.length === 1 ? 'it' : 'them'} bounces. ` +
              `Add the user, or remove the destination (\`tegami alias remove ${alias} ${destination}\`)`,
          );
        }
        return 0;
      },
    },
    {
      name: 'alias remove',
      usage: ['<alias> [<destination>...]'],
      summary: 'remove an alias, or some of its destinations',
      description: `Removes the named destinations of <alias>, or the whole alias when none are named.
Refused when the alias would go while other aliases deliver to it (the refusal names them).`,
      examples: [
        'tegami alias remove team@example.com bob@partner.example',
        'tegami alias remove team@example.com',
      ],
      run: async (args, ctx) => {
        const { removeAlias } = await import('@tegami/store');
        const alias = args.one('alias');
        const destinations = args.all('destination');
        await removeAlias((await ctx.store()).pool, alias, destinations);
        ctx.print(
          destinations.length === 0
            ? `removed alias ${alias.toLowerCase()}`
            : `removed ${destinations.map((d) => d.toLowerCase()).join(', ')} from ${alias.toLowerCase()}`,
        );
        return 0;
      },
    },
  ],
};
