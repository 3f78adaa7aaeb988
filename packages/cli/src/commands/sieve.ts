import type { StorePool } from '@tegami/store';
import { type CommandContext, type CommandGroup, UsageError } from '../command.js';
import { JSON_OPTION, printJson } from '../json-output.js';
import { printTable } from '../table.js';

// Sieve filters (RFC 5228) from the operator's side: what a user keeps with ManageSieve
// (RFC 5804, the imap-gateway's port 4190), and the administrator's global scripts that
// users may `include :global` (RFC 6609) and that a domain runs before each user's own.
// Every script is compiled before it is stored, as PUTSCRIPT does.

/** What `put` accepts: the compiler's limit (as ManageSieve's default TEGAMI_MANAGESIEVE_MAX_SCRIPT_SIZE). */
const MAX_SCRIPT_BYTES = 1024 * 1024;

async function accountId(store: StorePool, user: string): Promise<string> {
  const { findAccount, StoreError } = await import('@tegami/store');
  const account = await findAccount(store.pool, user);
  if (!account) throw new StoreError('not_found', `no user ${user.toLowerCase()}`);
  return account.id;
}

/** A script name as ManageSieve takes it (RFC 5804 §1.6). */
async function checkedName(name: string): Promise<string> {
  const { sieveScriptName } = await import('@tegami/protocol');
  const checked = sieveScriptName(Buffer.from(name, 'utf8'));
  if (!checked.ok) throw new UsageError(checked.problem);
  return checked.name;
}

/**
 * The script in the file (or standard input), compiled; undefined after saying, on standard
 * error, where it does not compile.
 */
async function compiledScript(file: string, ctx: CommandContext): Promise<string | undefined> {
  const octets =
    file === '-' ? await ctx.readStdin() : await (await import('node:fs/promises')).readFile(file);
  const { checkSieveScript } = await import('@tegami/protocol');
  const checked = await checkSieveScript(octets, { maxScriptBytes: MAX_SCRIPT_BYTES });
  if (checked.ok) return checked.source;
  ctx.warn(`tegami: ${file === '-' ? 'standard input' : file}: ${checked.problem}`);
  return undefined;
}

/** A script as it was stored, on standard output: a final line end is the print's own. */
function printScript(ctx: CommandContext, content: string): void {
  ctx.print(content.endsWith('\n') ? content.slice(0, -1) : content);
}

const when = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

export const sieveCommands: CommandGroup = {
  title: 'Sieve filters',
  word: 'sieve',
  description: `Users' Sieve scripts (RFC 5228), which they usually upload with a ManageSieve client
(RFC 5804, port 4190 of the imap-gateway): at most one of a user's scripts is active and runs
when mail is delivered to them. Global scripts are the administrator's: users may include
them (include :global, RFC 6609), and a domain may run one before each user's own.`,
  commands: [
    {
      name: 'sieve list',
      usage: ['<user> [--json]'],
      summary: "list a user's Sieve scripts, the active one marked",
      description: "Lists the user's scripts by name, the one that runs at delivery marked active.",
      options: JSON_OPTION,
      examples: ['tegami sieve list alice@example.com', 'tegami sieve list alice@example.com --json'],
      run: async (args, ctx) => {
        const { listSieveScripts } = await import('@tegami/store');
        const store = await ctx.store();
        const scripts = await listSieveScripts(store.pool, await accountId(store, args.one('user')));
        if (args.has('--json')) {
          printJson(
            ctx.print,
            scripts.map((s) => ({ name: s.name, active: s.active, updatedAt: s.updatedAt })),
          );
          return 0;
        }
        printTable(
          ctx.print,
          ['SCRIPT', 'STATUS', 'UPDATED'],
          scripts.map((s) => [s.name, s.active ? 'active' : '-', when(s.updatedAt)]),
        );
        return 0;
      },
    },
    {
      name: 'sieve get',
      usage: ['<user> <name>'],
      summary: "print one of a user's Sieve scripts",
      description: 'Prints the script as it was stored (as ManageSieve GETSCRIPT returns it).',
      examples: ['tegami sieve get alice@example.com vacation'],
      run: async (args, ctx) => {
        const { getSieveScript, StoreError } = await import('@tegami/store');
        const store = await ctx.store();
        const name = args.one('name');
        const script = await getSieveScript(store.pool, await accountId(store, args.one('user')), name);
        if (!script)
          throw new StoreError('not_found', `${args.one('user').toLowerCase()} has no script ${name}`);
        printScript(ctx, script.content);
        return 0;
      },
    },
    {
      name: 'sieve put',
      usage: ['<user> <name> <file|->'],
      summary: 'store a Sieve script for a user (compiled first)',
      description: `Compiles the script and stores it under <name> for the user, replacing a script of
that name (an active one stays active). A script that does not compile is refused with the
line and column of the first error, and exit code 1. The operator is not held to the
user's limits (TEGAMI_MANAGESIEVE_MAX_SCRIPTS); a script may be 1 MiB at most. It does not
become active: tegami sieve activate does that.`,
      examples: [
        'tegami sieve put alice@example.com vacation vacation.sieve',
        'printf \'require "fileinto";\\nfileinto "Archive";\\n\' | tegami sieve put alice@example.com archive -',
      ],
      run: async (args, ctx) => {
        const { putSieveScript } = await import('@tegami/store');
        const store = await ctx.store();
        const user = args.one('user');
        const id = await accountId(store, user);
        const name = await checkedName(args.one('name'));
        const source = await compiledScript(args.one('file|-'), ctx);
        if (source === undefined) return 1;
        const stored = await putSieveScript(store.pool, id, name, source, {
          maxScripts: Number.MAX_SAFE_INTEGER,
          maxBytes: MAX_SCRIPT_BYTES,
        });
        if (stored.kind !== 'stored') throw new Error(`bug: ${stored.limit} for the operator`);
        ctx.print(`${stored.created ? 'stored' : 'replaced'} script ${name} of ${user.toLowerCase()}`);
        return 0;
      },
    },
    {
      name: 'sieve activate',
      usage: ['<user> <name>', '<user> --none'],
      summary: "make one of a user's scripts the one that runs (--none: none)",
      description: `Makes the script the one that runs when mail is delivered to the user; the one
active before is not any more. With --none no script runs (as tegami sieve deactivate).`,
      options: { '--none': 'deactivate the active script: none runs' },
      examples: [
        'tegami sieve activate alice@example.com vacation',
        'tegami sieve activate alice@example.com --none',
      ],
      run: (args, ctx) => activate(args.one('user'), args.has('--none') ? null : args.one('name'), ctx),
    },
    {
      name: 'sieve deactivate',
      usage: ['<user>'],
      summary: "deactivate a user's active script: none runs",
      description: "Deactivates the user's active script, if any: mail is delivered to the INBOX.",
      examples: ['tegami sieve deactivate alice@example.com'],
      run: (args, ctx) => activate(args.one('user'), null, ctx),
    },
    {
      name: 'sieve delete',
      usage: ['<user> <name>'],
      summary: "delete one of a user's Sieve scripts (not the active one)",
      description: `Deletes the script. The active script is refused, as ManageSieve refuses it:
deactivate it first, or activate another.`,
      examples: ['tegami sieve delete alice@example.com old-vacation'],
      run: async (args, ctx) => {
        const { deleteSieveScript, StoreError } = await import('@tegami/store');
        const store = await ctx.store();
        const user = args.one('user').toLowerCase();
        const name = args.one('name');
        const deleted = await deleteSieveScript(store.pool, await accountId(store, user), name);
        if (deleted === 'nonexistent') throw new StoreError('not_found', `${user} has no script ${name}`);
        if (deleted === 'active')
          throw new StoreError(
            'conflict',
            `script ${name} of ${user} is active: deactivate it first (\`tegami sieve deactivate ${user}\`)`,
          );
        ctx.print(`deleted script ${name} of ${user}`);
        return 0;
      },
    },
    {
      name: 'sieve global list',
      usage: ['[--json]'],
      summary: "list the administrator's Sieve scripts, and the domains that run one first",
      description: `Global scripts are the administrator's: users' scripts may include them
(include :global "<name>", RFC 6609), and tegami sieve before makes a domain run one before
each user's own script. Lists them, each with the domains that run it so.`,
      options: JSON_OPTION,
      examples: ['tegami sieve global list', 'tegami sieve global list --json'],
      run: async (args, ctx) => {
        const { listGlobalSieveScripts } = await import('@tegami/store');
        const scripts = await listGlobalSieveScripts((await ctx.store()).pool);
        if (args.has('--json')) {
          printJson(
            ctx.print,
            scripts.map((s) => ({ name: s.name, beforeIn: s.beforeIn, updatedAt: s.updatedAt })),
          );
          return 0;
        }
        printTable(
          ctx.print,
          ['SCRIPT', 'BEFORE USERS OF', 'UPDATED'],
          scripts.map((s) => [s.name, s.beforeIn.join(',') || '-', when(s.updatedAt)]),
        );
        return 0;
      },
    },
    {
      name: 'sieve global get',
      usage: ['<name>'],
      summary: 'print a global Sieve script',
      description: 'Prints the global script as it was stored.',
      examples: ['tegami sieve global get spam-to-junk'],
      run: async (args, ctx) => {
        const { getGlobalSieveScript, StoreError } = await import('@tegami/store');
        const name = args.one('name');
        const script = await getGlobalSieveScript((await ctx.store()).pool, name);
        if (!script) throw new StoreError('not_found', `no global script ${name}`);
        printScript(ctx, script.content);
        return 0;
      },
    },
    {
      name: 'sieve global put',
      usage: ['<name> <file|->'],
      summary: 'store a global Sieve script (compiled first)',
      description: `Compiles the script and stores it as the global script <name>, replacing one of
that name: users' scripts that include it, and domains that run it first, run the new one
from the next delivery on. A script that does not compile is refused with the line and
column of the first error, and exit code 1.`,
      examples: ['tegami sieve global put spam-to-junk spam-to-junk.sieve'],
      run: async (args, ctx) => {
        const { putGlobalSieveScript } = await import('@tegami/store');
        const store = await ctx.store();
        const name = await checkedName(args.one('name'));
        const source = await compiledScript(args.one('file|-'), ctx);
        if (source === undefined) return 1;
        const { created } = await putGlobalSieveScript(store.pool, name, source);
        ctx.print(`${created ? 'stored' : 'replaced'} global script ${name}`);
        return 0;
      },
    },
    {
      name: 'sieve global delete',
      usage: ['<name>'],
      summary: 'delete a global Sieve script (not while a domain runs it)',
      description: `Deletes the global script. Refused while a domain runs it before its users'
scripts (tegami sieve before <domain> --none first). Users' scripts that include it are not
looked for: their include fails (or is skipped, when :optional) from then on.`,
      examples: ['tegami sieve global delete spam-to-junk'],
      run: async (args, ctx) => {
        const { deleteGlobalSieveScript, StoreError } = await import('@tegami/store');
        const name = args.one('name');
        const deleted = await deleteGlobalSieveScript((await ctx.store()).pool, name);
        if (deleted.kind === 'nonexistent') throw new StoreError('not_found', `no global script ${name}`);
        if (deleted.kind === 'in-use')
          throw new StoreError(
            'conflict',
            `global script ${name} runs before the users' scripts of ${deleted.domains.join(', ')}: take it off first (\`tegami sieve before ${deleted.domains[0]} --none\`)`,
          );
        ctx.print(`deleted global script ${name}`);
        return 0;
      },
    },
    {
      name: 'sieve before',
      usage: ['<domain> <global-name>', '<domain> --none'],
      summary: "run a global script before each user's own in a domain (--none: stop)",
      description: `Every recipient in the domain then runs the global script before their own
(as Pigeonhole's sieve_before), users without a script of their own too. With --none the
domain runs no script before the users' own.`,
      options: { '--none': 'run none before the users’ scripts' },
      examples: ['tegami sieve before example.com spam-to-junk', 'tegami sieve before example.com --none'],
      run: async (args, ctx) => {
        const { setDomainSieveBefore, StoreError } = await import('@tegami/store');
        const domain = args.one('domain').toLowerCase();
        const name = args.has('--none') ? null : args.one('global-name');
        const set = await setDomainSieveBefore((await ctx.store()).pool, domain, name);
        if (set === 'no-domain') throw new StoreError('not_found', `no domain ${domain}`);
        if (set === 'no-script')
          throw new StoreError(
            'not_found',
            `no global script ${name} (store it with tegami sieve global put)`,
          );
        ctx.print(
          name === null
            ? `${domain} runs no script before its users'`
            : `${domain} runs ${name} before its users' scripts`,
        );
        return 0;
      },
    },
  ],
};

async function activate(user: string, name: string | null, ctx: CommandContext): Promise<number> {
  const { activateSieveScript, StoreError } = await import('@tegami/store');
  const store = await ctx.store();
  const address = user.toLowerCase();
  if ((await activateSieveScript(store.pool, await accountId(store, user), name)) === 'nonexistent')
    throw new StoreError('not_found', `${address} has no script ${name}`);
  ctx.print(name === null ? `no script of ${address} is active` : `script ${name} of ${address} is active`);
  return 0;
}
