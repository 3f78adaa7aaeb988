import { type Command, type CommandContext, type CommandGroup, UsageError } from '../command.js';
import { formatSize } from '../sizes.js';
import type { Arguments } from '../usage.js';
import type { TarEntry } from '../ustar.js';

// One user's mail, or a whole domain's, as a portable file and back (issue 20): a tar archive
// with manifest.json, the messages as a Maildir-style tree and their metadata in pages beside
// them (the layouts are store/account-archive.ts's and store/domain-archive.ts's).
// Whole-system backup is Postgres's own (README, "Backup and restore").

const summary = (totals: {
  readonly mailboxes: number;
  readonly messages: number;
  readonly bytes: number;
  readonly sieveScripts: number;
}) =>
  `${totals.mailboxes} mailboxes, ${totals.messages} messages (${formatSize(totals.bytes)}), ${totals.sieveScripts} Sieve scripts`;

const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : word.endsWith('s') ? 'es' : 's'}`;

/** An archive's progress (running totals) on progress.ts's bar: made when the total is known. */
async function archiveProgress(ctx: CommandContext, label: string) {
  const { progress } = await import('../progress.js');
  let bar: ReturnType<typeof progress> | undefined;
  return {
    report: (done: { readonly messages: number; readonly bytes: number }, total: number) => {
      bar ??= progress({ label, total, say: ctx.warn });
      bar.update(done.messages, done.bytes);
    },
    /** The summary line, with the final totals (an archive of no messages reports none). */
    done: (totals: { readonly messages: number; readonly bytes: number }) => {
      bar ??= progress({ label, total: totals.messages, say: ctx.warn });
      bar.update(totals.messages, totals.bytes);
      bar.done();
    },
    fail: () => bar?.fail(),
  };
}

async function exportArchive(args: Arguments, ctx: CommandContext): Promise<number> {
  const { createWriteStream } = await import('node:fs');
  const { rm } = await import('node:fs/promises');
  const { exportAccountArchive, exportDomainArchive, domainName } = await import('@tegami/store');
  const { TarWriter } = await import('../ustar.js');
  const file = args.one('file');
  const what = args.one('user|domain');
  // An address names a user; anything else must be a domain name (said before the file is made).
  const domain = what.includes('@') ? undefined : domainName(what);
  const store = await ctx.store();
  const out = createWriteStream(file, { flags: 'wx' });
  await new Promise<void>((resolve, reject) => {
    out.once('open', () => resolve());
    out.once('error', reject);
  });
  let failure: unknown;
  out.on('error', (err) => {
    failure = err;
  });
  const tar = new TarWriter(out);
  const sink = async (path: string, data: Buffer) => {
    if (failure) throw failure;
    await tar.add(path, data);
  };
  const bar = await archiveProgress(ctx, 'exported');
  try {
    if (domain === undefined) {
      const totals = await exportAccountArchive(store.pool, what, sink, bar.report);
      await tar.finish();
      if (failure) throw failure;
      bar.done(totals);
      ctx.print(`exported ${what.toLowerCase()} to ${file}: ${summary(totals)}`);
    } else {
      const totals = await exportDomainArchive(store.pool, domain, sink, bar.report);
      await tar.finish();
      if (failure) throw failure;
      bar.done(totals);
      ctx.print(
        `exported ${domain} to ${file}: ${count(totals.users, 'user')}, ${count(totals.aliases, 'alias')}, ${summary(totals)}`,
      );
    }
    return 0;
  } catch (err) {
    bar.fail();
    out.destroy();
    await rm(file, { force: true });
    throw err;
  }
}

/** The messages an archive's manifest (its first entry) announces, for the progress of its check. */
function manifestMessages(first: Buffer | undefined): number | undefined {
  try {
    const manifest = JSON.parse(first?.toString('utf8') ?? '') as {
      users?: { messages?: unknown }[];
      mailboxes?: { messages?: unknown }[];
    };
    const counts = (manifest.users ?? manifest.mailboxes ?? []).map((m) => m.messages);
    return counts.every((n) => typeof n === 'number')
      ? (counts as number[]).reduce((a, b) => a + b, 0)
      : undefined;
  } catch {
    // Not JSON: the check says what is wrong with it.
    return undefined;
  }
}

/** `tegami restore <file>` and `tegami import <file>`: an account's archive or a domain's. */
async function restoreArchive(args: Arguments, ctx: CommandContext): Promise<number> {
  const { createReadStream } = await import('node:fs');
  const store = await import('@tegami/store');
  const { readTar } = await import('../ustar.js');
  const file = args.one('file');
  const entries = () => readTar(createReadStream(file));
  const inFile = (err: unknown): never => {
    throw new Error(`${file}: ${ctx.describeError(err)}`);
  };
  // The first entry says which kind of archive this is; a file that is no tar fails here.
  let first: Buffer | undefined;
  const head = createReadStream(file);
  try {
    first = (await readTar(head).next()).value?.data;
  } catch (err) {
    inFile(err);
  } finally {
    head.destroy();
  }
  const domain = first !== undefined && store.archiveKind(first) === 'domain';
  if (domain && args.value('--user') !== undefined)
    throw new UsageError('--user is for the archive of one user, not of a domain');
  // Two reads of the file: the first checks it whole (with progress: it is as long as the
  // file), the second stores it.
  const { progress } = await import('../progress.js');
  const checking = progress({ label: 'checked', total: manifestMessages(first), say: ctx.warn });
  async function* checked() {
    for await (const entry of entries()) {
      // A message's entry is under a cur/ directory; the manifests and pages are not messages.
      checking.tick(entry.path.includes('/cur/') ? 1 : 0, entry.data.length);
      yield entry;
    }
  }
  const checkWith = async <T>(check: (entries: AsyncIterable<TarEntry>) => Promise<T>): Promise<T> => {
    try {
      const manifest = await check(checked());
      checking.done();
      return manifest;
    } catch (err) {
      checking.fail();
      return inFile(err);
    }
  };
  if (domain) {
    const manifest = await checkWith(store.checkDomainArchive);
    const bar = await archiveProgress(ctx, 'restored');
    const pool = (await ctx.store()).pool;
    const result = await store
      .restoreDomainArchive(pool, entries(), { progress: bar.report })
      .catch((err) => {
        bar.fail();
        throw err;
      });
    bar.done(result);
    ctx.print(
      `restored ${manifest.domain}${result.domainCreated ? ' (created)' : ''}: ${count(result.users, 'user')}, ${count(result.aliases, 'alias')}, ${summary(result)}`,
    );
    if (result.usersCreated.length > 0)
      ctx.warn(`tegami: made ${result.usersCreated.join(', ')} again, with their archived passwords`);
    return 0;
  }
  const manifest = await checkWith(store.checkAccountArchive);
  const user = (args.value('--user') ?? manifest.address).toLowerCase();
  const pool = (await ctx.store()).pool;
  const bar = await archiveProgress(ctx, 'restored');
  const totals = await store
    .restoreAccountArchive(pool, user, entries(), { progress: bar.report })
    .catch((err) => {
      bar.fail();
      throw err;
    });
  bar.done(totals);
  ctx.print(`restored ${manifest.address} into ${user}: ${summary(totals)}`);
  return 0;
}

const RESTORE_DESCRIPTION = `Restores an archive of tegami export. One user's archive goes into the account it was
exported from, or into --user: an account that exists must hold no messages and no Sieve
scripts; a missing one is made with the archived password (its verifiers: the archive never
holds the password itself) and disabled state. Mailboxes get the archive's UIDVALIDITY and UIDNEXT, messages their
UIDs, flags and internal dates, byte for byte; subscriptions, Sieve scripts (the active one
active) and the quota as archived. A mailbox of the account that the archive lacks stays, empty.
A domain's archive makes the domain when missing (with its settings), restores each user in
the same way (making a missing user with its archived password), then adds the domain's aliases.
The whole file is read and checked first, so a truncated or damaged archive changes nothing.`;

const restoreCommand = (name: string, summaryLine: string): Command => ({
  name,
  usage: ['<file> [--user=<address>]'],
  summary: summaryLine,
  description: RESTORE_DESCRIPTION,
  options: { '--user': "restore one user's archive into this account instead of the archived address" },
  examples: [
    `tegami ${name} alice.tar`,
    `tegami ${name} alice.tar --user alice.old@example.com`,
    `tegami ${name} example.com.tar`,
  ],
  run: restoreArchive,
});

export const archiveCommands: CommandGroup = {
  title: 'Backup and restore',
  commands: [
    {
      name: 'export',
      usage: ['<user|domain> <file>'],
      summary: "write a user's or a whole domain's mailboxes, messages and Sieve scripts to an archive",
      description: `Writes a tar archive of the user: manifest.json (the mailboxes with their UIDVALIDITY
and UIDNEXT, subscriptions, Sieve scripts, quota), and each message as a Maildir file
maildir/<folder>/cur/<uid>.<date>:2,<flags> holding the bytes IMAP serves, its UID, flags
and internal date in maildir/<folder>/tegami-messages.<n>.jsonl. Read from one snapshot,
while the user goes on using the account. Aliases delivering to the user are the domain's
and are not included.
Given a domain instead of an address, writes all its users into one archive: manifest.json
with the domain's settings, aliases and users, then each user's archive as above under
users/<address>/. Passwords and DKIM keys are not included.
Streams in constant memory, with progress on standard error. Refuses to overwrite an existing file.`,
      examples: ['tegami export alice@example.com alice.tar', 'tegami export example.com example.com.tar'],
      run: exportArchive,
    },
    restoreCommand('restore', 'restore an archive of `tegami export` into empty accounts'),
    restoreCommand('import', 'the same as tegami restore: an archive of `tegami export` back in'),
  ],
};
