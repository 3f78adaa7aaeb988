import type { CommandContext, CommandGroup } from '../command.js';
import type { FolderResult, SourceFolder } from '../mail-import.js';

// Moving in from another server: a user's mail from a Dovecot/Courier Maildir++ tree or
// an mbox file, into their Tegami mailboxes (the user exists first: `tegami user add`).

async function accountOf(ctx: CommandContext, user: string) {
  const { findAccount, StoreError } = await import('@tegami/store');
  const store = await ctx.store();
  const account = await findAccount(store.pool, user);
  if (!account) throw new StoreError('not_found', `no user ${user.toLowerCase()} (tegami user add first)`);
  return { store, accountId: account.id };
}

/** Imports the folders, a progress line on a terminal's standard error, and the summary. */
async function run(ctx: CommandContext, user: string, folders: readonly SourceFolder[]): Promise<number> {
  const { importFolders } = await import('../mail-import.js');
  const { formatSize } = await import('../sizes.js');
  const { printTable } = await import('../table.js');
  const { store, accountId } = await accountOf(ctx, user);
  const tty = process.stderr.isTTY === true;
  const results = await importFolders(store, accountId, folders, (line) => {
    if (tty) process.stderr.write(`\r\x1b[K${line}`);
  });
  if (tty) process.stderr.write('\r\x1b[K');
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
  description: `Imports a user's mail from another server's files: a Maildir++ tree (Dovecot,
Courier) or an mbox file. The user is made first (tegami user add). Running an import again
stores only what the first run did not.`,
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
(the same bytes in the folder, for messages without a UID).`,
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
folder holds already.`,
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
  ],
};
