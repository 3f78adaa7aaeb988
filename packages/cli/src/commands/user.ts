import type { CommandGroup } from '../command.js';
import { describeRemovedMail } from '../removed-mail.js';
import { formatSize, formatUsage, parseSize } from '../sizes.js';
import { printTable } from '../table.js';

const PASSWORD_STDIN =
  'read the password from standard input (one trailing line end is dropped) instead of asking twice at a prompt';

export const userCommands: CommandGroup = {
  title: 'Users',
  word: 'user',
  description: `Users have a password, the standard mailboxes and, if set, a quota. Passwords come
from standard input (--password-stdin) or a prompt, never from the command line, where ps
and the shell history would show them.`,
  commands: [
    {
      name: 'user add',
      usage: ['<address> [--password-stdin]'],
      summary: 'create a user with the standard mailboxes',
      description: `Creates a user in a local domain with the mailboxes INBOX, Sent, Drafts, Trash,
Junk and Archive. The password is read from standard input with --password-stdin, or
asked for twice at a prompt.`,
      options: { '--password-stdin': PASSWORD_STDIN },
      examples: ["printf '%s' 'correct horse' | tegami user add alice@example.com --password-stdin"],
      run: async (args, ctx) => {
        const { createAccount } = await import('@tegami/store');
        await useScryptCost(ctx.config.passwordScryptLn);
        const store = await ctx.store();
        const legacy = await ctx.legacySasl();
        const account = await createAccount(store.pool, args.one('address'), await ctx.newPassword(), legacy);
        ctx.print(`added user ${account.address} (INBOX, Sent, Drafts, Trash, Junk, Archive)`);
        if (account.postmaster) {
          ctx.print(
            `postmaster@${account.domain} → ${account.address} (the domain's first user; change it with tegami alias)`,
          );
        }
        return 0;
      },
    },
    {
      name: 'user passwd',
      usage: ['<address> [--password-stdin]'],
      summary: "change a user's password",
      description: `Sets a new password (and the secrets each login mechanism needs). The password is
read from standard input with --password-stdin, or asked for twice at a prompt.`,
      options: { '--password-stdin': PASSWORD_STDIN },
      examples: ['tegami user passwd alice@example.com'],
      run: async (args, ctx) => {
        const { setPassword } = await import('@tegami/store');
        await useScryptCost(ctx.config.passwordScryptLn);
        const address = args.one('address');
        const store = await ctx.store();
        const legacy = await ctx.legacySasl();
        await setPassword(store.pool, address, await ctx.newPassword(), legacy);
        ctx.print(`changed the password of ${address.toLowerCase()}`);
        return 0;
      },
    },
    {
      name: 'user quota',
      usage: ['<address> <size>', '<address> none'],
      summary: "limit a user's mail (e.g. 500M, 2G), or lift the limit",
      description: `Limits the bytes a user's mailboxes may hold together: <size> in bytes, or with K,
M, G or T (powers of 1024: 500M, 1.5G). Over it, new mail is deferred and, if it stays
full, bounced; IMAP APPEND and COPY are refused. \`none\` lifts the limit.`,
      examples: ['tegami user quota alice@example.com 500M', 'tegami user quota alice@example.com none'],
      run: async (args, ctx) => {
        const { setQuota } = await import('@tegami/store');
        const address = args.one('address');
        const bytes = args.has('none') ? null : parseSize(args.one('size'));
        await setQuota((await ctx.store()).pool, address, bytes);
        ctx.print(
          bytes === null
            ? `${address.toLowerCase()} has no quota`
            : `${address.toLowerCase()} may keep ${bytes} bytes${bytes >= 1024 ? ` (${formatSize(bytes)})` : ''}`,
        );
        return 0;
      },
    },
    {
      name: 'user list',
      usage: ['[<domain>]'],
      summary: 'list users with their mail stored and quota',
      description: `Lists the users (of one domain, or all), each with its status, the mail it stores
against its quota (\`12.3M / 500M (2%)\`, or \`/ none\` without one) and when it was created.`,
      examples: ['tegami user list', 'tegami user list example.com'],
      run: async (args, ctx) => {
        const { listAccountUsage } = await import('@tegami/store');
        const accounts = await listAccountUsage(
          (await ctx.store()).pool,
          args.optional('domain')?.toLowerCase(),
        );
        printTable(
          ctx.print,
          ['ADDRESS', 'STATUS', 'STORED / QUOTA', 'CREATED'],
          accounts.map((a) => [
            a.address,
            a.disabled ? 'disabled' : 'active',
            formatUsage(a.usedBytes, a.quotaBytes),
            a.createdAt.toISOString(),
          ]),
        );
        return 0;
      },
    },
    {
      name: 'user remove',
      usage: ['<address>'],
      summary: 'remove a user with all of their mail',
      description: `Removes a user with their mailboxes and every message in them, and deletes the
stored message bytes that no other mailbox or queue entry holds; says how much went. Refused
while an alias delivers to the user (it would accept mail and bounce it): point the alias
elsewhere or remove the user from it first; the refusal names the aliases.`,
      examples: ['tegami user remove alice@example.com'],
      run: async (args, ctx) => {
        const { removeAccount } = await import('@tegami/store');
        const address = args.one('address');
        const { newPostmaster, mail } = await removeAccount((await ctx.store()).pool, address);
        ctx.print(
          `removed user ${address.toLowerCase()} and all of their mail: ${describeRemovedMail(mail)}`,
        );
        if (newPostmaster) ctx.print(`postmaster@${newPostmaster.split('@')[1]} → ${newPostmaster}`);
        return 0;
      },
    },
  ],
};

/** The verifier cost the services use (TEGAMI_PASSWORD_SCRYPT_LN), for the passwords set here. */
async function useScryptCost(ln: number | undefined): Promise<void> {
  if (ln === undefined) return;
  (await import('@tegami/protocol/password-secrets')).setScryptCost(ln);
}
