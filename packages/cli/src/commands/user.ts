import type { CommandGroup } from '../command.js';
import { JSON_OPTION, printJson } from '../json-output.js';
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
      name: 'user import',
      usage: ['<file> [--update] [--create-domains] [--domain=<domain>] [--dry-run]'],
      summary: 'create users from another server, keeping their password hashes',
      description: `Creates the users listed in <file> (- for standard input) with the password hashes
their old server kept ({SHA512-CRYPT}, {BLF-CRYPT}, {ARGON2ID}, {SSHA512}, {PLAIN}… as
Dovecot writes them), so nobody needs a new password: the first login with the old password
replaces the hash with Tegami's own secrets. Until then SCRAM, CRAM-MD5 and DIGEST-MD5 fail
for the user; PLAIN, LOGIN and USER/PASS work.
The file is CSV when its first line (after blank and # lines) is the header, which starts
with "address," and names the columns address,password_hash[,quota][,disabled]; otherwise
each line is a Dovecot passwd-file line: user@domain:{SCHEME}hash[:uid:gid:…] (a quota rule
*:storage=… among the extra fields is the quota). The whole file is checked first, and
nothing is imported while a line is wrong; then each user is made in one transaction, with a
line saying what became of it. A user who exists is skipped; --update replaces the hash of
one who has not logged in to Tegami yet (never a password set or used here) and sets the
quota and state the file gives. A user's domain must be local, unless --create-domains.`,
      options: {
        '--update': 'refresh users who exist: their imported hash (not a Tegami password), quota and state',
        '--create-domains': 'add the domains of the file that are not local yet (refused otherwise)',
        '--domain': 'the domain of passwd-file user names without one (a per-domain file such as users/%d)',
        '--dry-run': 'check everything and report, in transactions rolled back: nothing is written',
      },
      examples: [
        'tegami user import users.csv --dry-run',
        'tegami user import /etc/dovecot/users --create-domains',
        'tegami user import /etc/dovecot/users/example.org --domain example.org --update',
      ],
      run: async (args, ctx) => {
        const { readUserFile, importUsers, summaryLine } = await import('../user-import.js');
        const file = args.one('file');
        const text = (
          file === '-' ? await ctx.readStdin() : await (await import('node:fs/promises')).readFile(file)
        ).toString('utf8');
        const domain = args.value('--domain');
        const read = readUserFile(text, domain === undefined ? {} : { domain });
        if (read.problems.length > 0) {
          for (const problem of read.problems)
            ctx.warn(`tegami: ${file === '-' ? 'standard input' : file}: ${problem}`);
          ctx.warn(`tegami: nothing imported: ${read.problems.length} line(s) to fix first`);
          return 1;
        }
        const dryRun = args.has('--dry-run');
        const summary = await importUsers(
          await ctx.store(),
          read.users,
          { update: args.has('--update'), createDomain: args.has('--create-domains'), dryRun },
          ctx,
        );
        ctx.print(`${summaryLine(summary, dryRun)} (read as ${read.format})`);
        return summary.failed > 0 ? 1 : 0;
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
      usage: ['[<domain>] [--json]'],
      summary: 'list users with their mail stored and quota',
      description: `Lists the users (of one domain, or all), each with its status, the mail it stores
against its quota (\`12.3M / 500M (2%)\`, or \`/ none\` without one) and when it was created.`,
      options: JSON_OPTION,
      examples: ['tegami user list', 'tegami user list example.com --json'],
      run: async (args, ctx) => {
        const { listAccountUsage } = await import('@tegami/store');
        const accounts = await listAccountUsage(
          (await ctx.store()).pool,
          args.optional('domain')?.toLowerCase(),
        );
        if (args.has('--json')) {
          printJson(
            ctx.print,
            accounts.map((a) => ({
              address: a.address,
              domain: a.domain,
              disabled: a.disabled,
              usedBytes: a.usedBytes,
              messages: a.messages,
              quotaBytes: a.quotaBytes,
              createdAt: a.createdAt,
            })),
          );
          return 0;
        }
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
