import { type CommandContext, type CommandGroup, UsageError } from '../command.js';
import type { FolderResult, SourceFolder } from '../mail-import.js';
import type { Arguments } from '../usage.js';

// Moving in from another server: a user's mail from a Dovecot/Courier Maildir++ tree, an
// mbox file or a live IMAP server, into their Tegami mailboxes (the user exists first: `tegami user add`).

async function accountOf(ctx: CommandContext, user: string) {
  const { findAccount, StoreError } = await import('@tegami/store');
  const store = await ctx.store();
  const account = await findAccount(store.pool, user);
  if (!account) throw new StoreError('not_found', `no user ${user.toLowerCase()} (tegami user add first)`);
  return { store, accountId: account.id };
}

/** Imports the folders, with progress on standard error (progress.ts), and the summary. */
async function run(ctx: CommandContext, user: string, folders: readonly SourceFolder[]): Promise<number> {
  const { importFolders, totalMessages } = await import('../mail-import.js');
  const { progress } = await import('../progress.js');
  const { formatSize } = await import('../sizes.js');
  const { printTable } = await import('../table.js');
  const { store, accountId } = await accountOf(ctx, user);
  const bar = progress({ label: 'imported', total: totalMessages(folders), say: ctx.warn });
  // Open IMAP sessions (IDLE) hear of the new mail as they do of APPEND and delivery.
  const bus = await openBus(ctx);
  const results = await importFolders(store, accountId, folders, bar, async (event) => {
    await bus?.publishMailboxChanged(event).catch(() => undefined);
  })
    .catch((err: unknown) => {
      bar.fail();
      throw err;
    })
    .finally(() => bus?.close().catch(() => undefined));
  bar.done();
  printTable(
    ctx.print,
    ['FOLDER', 'MESSAGES', 'SIZE', 'SKIPPED', 'UIDS'],
    results.map((r) => [r.name, String(r.messages), formatSize(r.bytes), String(r.skipped), uidNote(r)]),
  );
  const sum = (key: 'messages' | 'bytes' | 'skipped') => results.reduce((n, r) => n + r[key], 0);
  const bytes = sum('bytes');
  ctx.print(
    `imported ${plural(sum('messages'), 'message')} (${bytes < 1024 ? plural(bytes, 'byte') : formatSize(bytes)}) into ${plural(results.length, 'folder')} of ${user.toLowerCase()}; skipped ${sum('skipped')} present already`,
  );
  for (const r of results.filter((r) => r.renumbered))
    ctx.warn(
      `tegami: ${r.name} held other messages: its messages got new UIDs (clients will download them again)`,
    );
  return 0;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function uidNote(result: FolderResult): string {
  if (result.keptUids) return `kept (UIDVALIDITY ${result.uidValidity})`;
  return result.renumbered ? 'new (the mailbox was not empty)' : 'new';
}

export const importCommands: CommandGroup = {
  title: 'Moving in from another server',
  word: 'import',
  description: `Imports a user's mail from another server: its files (a Maildir++ tree of Dovecot
or Courier, an mbox file) or the live server over IMAP. The user is made first (tegami user
add). Running an import again stores only what the first run did not.`,
  commands: [
    {
      name: 'import maildir',
      usage: ['<path> --user=<address>'],
      summary: "import a Dovecot/Courier Maildir++ tree into a user's mailboxes",
      description: `Imports every folder of the Maildir++ tree at <path> (the directory holding cur/
and new/, which is INBOX; .Name and .Parent.Child are folders, Parent/Child here), with the
messages byte for byte, their flags and keywords (dovecot-keywords), their received dates
(the files' times) and the subscriptions. A mailbox that is new or empty keeps the
UIDVALIDITY and the UIDs of dovecot-uidlist, so clients need not download again; one that
holds other messages gets the messages at new UIDs. Run again, it skips the UIDs it stored
(for messages without a UID: the copies of the same bytes the folder held before the run,
so two files with the same bytes are both imported once).`,
      options: { '--user': 'the Tegami user whose mailboxes receive the mail' },
      examples: ['tegami import maildir /var/vmail/example.org/alice/Maildir --user alice@example.org'],
      run: async (args, ctx) => {
        const { readMaildirTree } = await import('../maildir-source.js');
        return run(ctx, args.value('--user')!, await readMaildirTree(args.one('path')));
      },
    },
    {
      name: 'import mbox',
      usage: ['<file> --user=<address> [--folder=<name>]'],
      summary: 'import an mbox file into one of a user’s mailboxes (INBOX unless --folder)',
      description: `Imports the messages of the mbox file (mboxrd or mboxo: ">From " lines
unquoted), read as a stream, into the folder (made when missing), with CRLF line ends. Their
flags come from the Status: and X-Status: header fields (which stay in the messages), their
received dates from the "From " lines. Run again, it skips the messages whose bytes the
folder held already (as many copies as it held).`,
      options: {
        '--user': 'the Tegami user whose mailbox receives the mail',
        '--folder': 'the mailbox, / between levels (INBOX when absent)',
      },
      examples: ['tegami import mbox alice.mbox --user alice@example.org --folder Archive/2019'],
      run: async (args, ctx) => {
        const { readMbox } = await import('../mbox-source.js');
        const file = args.one('file');
        // Missing or unreadable: said before any mailbox is made.
        await (await import('node:fs/promises')).access(file);
        const folder: SourceFolder = {
          name: args.value('--folder') ?? 'INBOX',
          subscribed: true,
          messages: () => readMbox(file),
        };
        return run(ctx, args.value('--user')!, [folder]);
      },
    },
    {
      name: 'import imap',
      usage: [
        '<url> --user=<address> [--password-file=<file>] [--folder=<patterns>] [--exclude=<patterns>] [--insecure]',
      ],
      summary: "copy a user's folders from a live IMAP server (resumable)",
      description: `Copies every folder of the account at <url> (imaps://user@host[:port], or
imap://user@host[:port] with STARTTLS) into the user's mailboxes: the messages byte for byte
with their flags, keywords and received dates, and the subscriptions. The source's Sent,
Drafts, Trash, Junk and Archive folders (by their special use, or their usual names) go into
the user's mailboxes of that use. The source is only read. The password comes from
--password-file, TEGAMI_IMPORT_PASSWORD or a prompt, never from the command line. Each batch
is stored with the folder's progress, so a run stopped anywhere is continued by the next
one; a run with nothing left copies nothing. Mail that arrives meanwhile is not disturbed:
the copies get new UIDs.`,
      options: {
        '--user': 'the Tegami user whose mailboxes receive the mail',
        '--password-file': "a file holding the source account's password (one trailing line end is dropped)",
        '--folder': 'only these source folders: comma-separated names, * and % as in IMAP LIST (Work/*)',
        '--exclude': 'not these source folders (same patterns)',
        '--insecure':
          'allow a server with no STARTTLS (password in clear text) or with a certificate that does not verify',
      },
      examples: [
        'tegami import imap imaps://alice@mail.old.example --user alice@example.org --password-file /root/alice.pw',
        "TEGAMI_IMPORT_PASSWORD=… tegami import imap imaps://alice@mail.old.example --user alice@example.org --exclude 'Archive/*'",
      ],
      run: async (args, ctx) => runImap(args, ctx),
    },
  ],
};

async function runImap(args: Arguments, ctx: CommandContext): Promise<number> {
  const { parseImapSourceUrl } = await import('../imap-source-url.js');
  const { parseFolderPatterns } = await import('../imap-folder-plan.js');
  const parsed = parseImapSourceUrl(args.one('url'));
  if (!parsed.ok) throw new UsageError(parsed.problem);
  const { source } = parsed;
  const user = args.value('--user')!;
  const { store, accountId } = await accountOf(ctx, user);
  const password = await sourcePassword(args.value('--password-file'), ctx, source.display);
  const { ImapImportError, importFromImap } = await import('../imap-import.js');
  const { progress } = await import('../progress.js');
  const { formatSize } = await import('../sizes.js');
  const { printTable } = await import('../table.js');
  let bus: Awaited<ReturnType<typeof openBus>>;
  let result: Awaited<ReturnType<typeof importFromImap>>;
  try {
    result = await importFromImap(
      store,
      accountId,
      {
        source,
        password,
        insecure: args.has('--insecure'),
        include: parseFolderPatterns(args.value('--folder')),
        exclude: parseFolderPatterns(args.value('--exclude')),
      },
      {
        progress: (total, bytes) => {
          if (total > 0)
            ctx.warn(`copying ${plural(total, 'message')} (${formatSize(bytes)}) from ${source.display}`);
          return progress({ label: 'copied', total, say: ctx.warn });
        },
        openBus: async () => {
          bus = await openBus(ctx);
          return bus;
        },
      },
    );
  } catch (err) {
    if (err instanceof ImapImportError) {
      ctx.warn(`tegami: ${err.message}`);
      return 1;
    }
    throw err;
  } finally {
    await bus?.close().catch(() => undefined);
  }
  if (!result.encrypted)
    ctx.warn(
      `tegami: ${source.display} offers no TLS: the password and the mail crossed the network in clear text`,
    );
  for (const skipped of result.skipped) ctx.warn(`tegami: skipped ${skipped.sourceName}: ${skipped.reason}`);
  printTable(
    ctx.print,
    ['FOLDER', 'MAILBOX', 'COPIED', 'SIZE', 'SKIPPED'],
    result.folders.map((r) => [
      r.sourceName,
      r.target,
      r.upToDate ? 'up to date' : String(r.messages),
      formatSize(r.bytes),
      String(r.skipped),
    ]),
  );
  const sum = (key: 'messages' | 'bytes' | 'skipped') => result.folders.reduce((n, r) => n + r[key], 0);
  const folders = plural(result.folders.length, 'folder');
  if (result.folders.every((r) => r.upToDate))
    ctx.print(
      `nothing to copy: the ${folders} of ${source.display} are in ${user.toLowerCase()}'s mailboxes already`,
    );
  else
    ctx.print(
      `copied ${plural(sum('messages'), 'message')} (${formatSize(sum('bytes'))}) from ${folders} of ${source.display} into ${user.toLowerCase()}; skipped ${sum('skipped')} present already`,
    );
  return 0;
}

/** --password-file, TEGAMI_IMPORT_PASSWORD, or a prompt on a terminal: never argv (`ps` shows it). */
async function sourcePassword(file: string | undefined, ctx: CommandContext, where: string): Promise<string> {
  if (file !== undefined) {
    const { readFile } = await import('node:fs/promises');
    const text = (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
    if (text === '') throw new UsageError(`${file} is empty: it should hold the password`);
    return text;
  }
  if (ctx.config.importPassword !== undefined) return ctx.config.importPassword;
  try {
    return await ctx.promptPassword(`Password for ${where}: `);
  } catch (err) {
    const { PasswordInputError } = await import('../password-input.js');
    if (err instanceof PasswordInputError && /no terminal/.test(err.message))
      throw new UsageError(
        'no password: give --password-file or set TEGAMI_IMPORT_PASSWORD (no terminal to ask on)',
      );
    throw err;
  }
}

/**
 * In a deployment, the NATS the IMAP gateways listen on, to tell open sessions of the new
 * mailboxes and messages as APPEND and delivery do. The standalone's bus lives in its own
 * process: its sessions see the messages at their next command. Not reachable: the copy
 * goes on, and sessions catch up the same way.
 */
async function openBus(ctx: CommandContext) {
  if (!ctx.nats) return undefined;
  const { connectNatsBus } = await import('@tegami/bus');
  try {
    return await connectNatsBus({
      servers: ctx.nats.servers,
      prefix: ctx.nats.prefix,
      name: 'tegami import',
      connectTimeoutMs: 3000,
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    });
  } catch (err) {
    ctx.warn(`tegami: ${ctx.describeError(err)}: open IMAP sessions see the new mail at their next command`);
    return undefined;
  }
}
