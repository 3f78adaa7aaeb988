import type { CommandGroup } from '../command.js';
import { formatSize } from '../sizes.js';

// One user's mail as a portable file and back (issue 20): a tar archive with manifest.json,
// the messages as a Maildir-style tree and their metadata in pages beside them (the layout
// is store/account-archive.ts's). Whole-system backup is Postgres's own (README, "Backup and
// restore").

/** A progress line on standard error, rewritten in place, only when a person watches it. */
function progressLine(verb: string) {
  if (!process.stderr.isTTY) return undefined;
  return (done: { readonly messages: number; readonly bytes: number }, total: number) => {
    process.stderr.write(`\r${verb} ${done.messages}/${total} messages, ${formatSize(done.bytes)}\u001b[K`);
  };
}

function endProgress(): void {
  if (process.stderr.isTTY) process.stderr.write('\r\u001b[K');
}

const summary = (totals: {
  readonly mailboxes: number;
  readonly messages: number;
  readonly bytes: number;
  readonly sieveScripts: number;
}) =>
  `${totals.mailboxes} mailboxes, ${totals.messages} messages (${formatSize(totals.bytes)}), ${totals.sieveScripts} Sieve scripts`;

export const archiveCommands: CommandGroup = {
  title: 'Backup and restore',
  commands: [
    {
      name: 'export',
      usage: ['<user> <file>'],
      summary: "write a user's mailboxes, messages and Sieve scripts to an archive",
      description: `Writes a tar archive of the user: manifest.json (the mailboxes with their UIDVALIDITY
and UIDNEXT, subscriptions, Sieve scripts, quota), and each message as a Maildir file
maildir/<folder>/cur/<uid>.<date>:2,<flags> holding the bytes IMAP serves, its UID, flags
and internal date in maildir/<folder>/tegami-messages.<n>.jsonl. Read from one snapshot,
while the user goes on using the account. Aliases delivering to the user are the domain's
and are not included. Refuses to overwrite an existing file.`,
      examples: ['tegami export alice@example.com alice.tar'],
      run: async (args, ctx) => {
        const { createWriteStream } = await import('node:fs');
        const { rm } = await import('node:fs/promises');
        const { exportAccountArchive } = await import('@tegami/store');
        const { TarWriter } = await import('../ustar.js');
        const file = args.one('file');
        const store = await ctx.store();
        const out = createWriteStream(file, { flags: 'wx' });
        const opened = new Promise<void>((resolve, reject) => {
          out.once('open', () => resolve());
          out.once('error', reject);
        });
        await opened;
        let failure: unknown;
        out.on('error', (err) => {
          failure = err;
        });
        const tar = new TarWriter(out);
        try {
          const totals = await exportAccountArchive(
            store.pool,
            args.one('user'),
            async (path, data) => {
              if (failure) throw failure;
              await tar.add(path, data);
            },
            progressLine('exported'),
          );
          await tar.finish();
          if (failure) throw failure;
          endProgress();
          ctx.print(`exported ${args.one('user').toLowerCase()} to ${file}: ${summary(totals)}`);
          return 0;
        } catch (err) {
          endProgress();
          out.destroy();
          await rm(file, { force: true });
          throw err;
        }
      },
    },
    {
      name: 'restore',
      usage: ['<file> [--user=<address>]'],
      summary: 'restore an archive of `tegami export` into an empty account',
      description: `Restores the archive into the account it was exported from, or into --user: the
account must exist (tegami user add) and hold no messages and no Sieve scripts. Mailboxes get
the archive's UIDVALIDITY and UIDNEXT, messages their UIDs, flags and internal dates, byte
for byte; subscriptions, Sieve scripts (the active one active) and the quota as archived.
A mailbox of the account that the archive lacks stays, empty.
The whole file is read and checked first, so a truncated or damaged archive changes nothing.`,
      options: { '--user': 'restore into this account instead of the archived address' },
      examples: ['tegami restore alice.tar', 'tegami restore alice.tar --user alice.old@example.com'],
      run: async (args, ctx) => {
        const { createReadStream } = await import('node:fs');
        const { checkAccountArchive, restoreAccountArchive } = await import('@tegami/store');
        const { readTar } = await import('../ustar.js');
        const file = args.one('file');
        // Two reads of the file: the first checks it whole, the second stores it.
        const manifest = await checkAccountArchive(readTar(createReadStream(file))).catch((err: unknown) => {
          throw new Error(`${file}: ${ctx.describeError(err)}`);
        });
        const user = (args.value('--user') ?? manifest.address).toLowerCase();
        const store = await ctx.store();
        try {
          const totals = await restoreAccountArchive(store.pool, user, readTar(createReadStream(file)), {
            progress: progressLine('restored'),
          });
          endProgress();
          ctx.print(`restored ${manifest.address} into ${user}: ${summary(totals)}`);
          return 0;
        } finally {
          endProgress();
        }
      },
    },
  ],
};
