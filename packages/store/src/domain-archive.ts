import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import {
  type ArchiveEntry,
  type ArchiveEntrySink,
  type ArchiveProgress,
  type ArchiveTotals,
  checkAccountArchive,
  exportAccountArchive,
  MANIFEST_ENTRY,
  restoreAccountArchive,
} from './account-archive.js';
import { createAccount, findAccount } from './accounts.js';
import {
  type ArchivedAccountState,
  createAccountFromArchive,
  isArchivedAccountState,
  readArchivedAccountState,
} from './archived-credentials.js';
import { withTransaction } from './db.js';
import { domainName } from './domains.js';
import { StoreError } from './errors.js';

// A whole domain as one archive (`tegami export <domain>`, issue 20): its settings and
// aliases in a manifest, then each user's account archive (account-archive.ts) under a
// directory of its own, in the manifest's order:
//
//   manifest.json                       first: format tegami-domain-archive, the domain, its
//                                       settings, its aliases, its users and their directories
//   users/<address>/manifest.json       one account archive per user, as `tegami export
//   users/<address>/maildir/…           <user>` writes it, its paths under the directory
//
// Each user is read from a snapshot of their own (as a single export does): a message that
// arrives for bob while alice is written is in bob's archive. Restore goes user by user in
// the same stream, so both directions keep the constant memory of an account archive.

export const DOMAIN_ARCHIVE_FORMAT = 'tegami-domain-archive';
export const DOMAIN_ARCHIVE_VERSION = 1;

export interface DomainArchiveManifest {
  readonly format: typeof DOMAIN_ARCHIVE_FORMAT;
  readonly version: number;
  readonly domain: string;
  readonly exportedAt: string;
  /** The domain's own settings (`tegami domain set`). */
  readonly settings: { readonly plusAddressing: boolean; readonly sieveBefore: string | null };
  /** Every alias of the domain, its destinations sorted. */
  readonly aliases: readonly { readonly address: string; readonly destinations: readonly string[] }[];
  /** The users, in the order of their directories in the archive, with their message counts. */
  readonly users: readonly {
    readonly address: string;
    readonly directory: string;
    readonly messages: number;
    /** Its password verifiers and disabled state (archived-credentials.ts), as its own manifest has them. */
    readonly account?: ArchivedAccountState;
  }[];
  readonly notIncluded: readonly string[];
}

/** The user's directory: the address, with '/' and '%' percent-encoded so it stays one level. */
export function userDirectory(address: string): string {
  return `users/${address.replaceAll('%', '%25').replaceAll('/', '%2F')}/`;
}

/** The format an archive's first entry names: a domain's or one account's. */
export function archiveKind(manifestEntry: Buffer): 'domain' | 'account' {
  try {
    const parsed = JSON.parse(manifestEntry.toString('utf8')) as { format?: unknown };
    if (parsed?.format === DOMAIN_ARCHIVE_FORMAT) return 'domain';
  } catch {
    // parseArchiveManifest says what is wrong with it.
  }
  return 'account';
}

export interface DomainArchiveTotals extends ArchiveTotals {
  readonly users: number;
  readonly aliases: number;
}

/** Writes the domain's archive to `sink`; the progress counts every user's messages together. */
export async function exportDomainArchive(
  pool: pg.Pool,
  domainInput: string,
  sink: ArchiveEntrySink,
  progress?: ArchiveProgress,
): Promise<DomainArchiveTotals> {
  const domain = domainName(domainInput);
  const manifest = await withTransaction(
    pool,
    async (client): Promise<DomainArchiveManifest> => {
      const found = await client.query<{ plus_addressing: boolean; sieve_before: string | null }>(
        'SELECT plus_addressing, sieve_before FROM domains WHERE name = $1',
        [domain],
      );
      const settings = found.rows[0];
      if (!settings) throw new StoreError('not_found', `no domain ${domain}`);
      const aliases = await client.query<{ address: string; destinations: string[] }>(
        `SELECT x.address, array_agg(x.destination ORDER BY x.destination) AS destinations
           FROM aliases x JOIN domains d ON d.id = x.domain_id WHERE d.name = $1
          GROUP BY x.address ORDER BY x.address`,
        [domain],
      );
      const users = await client.query<{ id: string; address: string; messages: string }>(
        `SELECT a.id, a.address,
                (SELECT count(*) FROM messages x JOIN mailboxes m ON m.id = x.mailbox_id WHERE m.account_id = a.id) AS messages
           FROM accounts a JOIN domains d ON d.id = a.domain_id WHERE d.name = $1 ORDER BY a.address`,
        [domain],
      );
      return {
        format: DOMAIN_ARCHIVE_FORMAT,
        version: DOMAIN_ARCHIVE_VERSION,
        domain,
        exportedAt: new Date().toISOString(),
        settings: { plusAddressing: settings.plus_addressing, sieveBefore: settings.sieve_before },
        aliases: aliases.rows,
        users: await Promise.all(
          users.rows.map(async (u) => ({
            address: u.address,
            directory: userDirectory(u.address),
            messages: Number(u.messages),
            account: await readArchivedAccountState(client, u.id),
          })),
        ),
        notIncluded: [
          "the users' passwords themselves: only their verifiers (scrypt, SCRAM-SHA-256) or imported hashes",
          'DKIM keys (tegami dkim: a restored domain gets new ones, or keep the secrets key and the database)',
          'global Sieve scripts (sieveBefore names one; they belong to the whole system)',
        ],
      };
    },
    { isolation: 'REPEATABLE READ' },
  );
  await sink(MANIFEST_ENTRY, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8'));
  const total = manifest.users.reduce((n, u) => n + u.messages, 0);
  let messages = 0;
  let bytes = 0;
  let mailboxes = 0;
  let sieveScripts = 0;
  for (const user of manifest.users) {
    const totals = await exportAccountArchive(
      pool,
      user.address,
      (path, data) => sink(`${user.directory}${path}`, data),
      progress &&
        ((done) => progress({ messages: messages + done.messages, bytes: bytes + done.bytes }, total)),
    );
    messages += totals.messages;
    bytes += totals.bytes;
    mailboxes += totals.mailboxes;
    sieveScripts += totals.sieveScripts;
  }
  return {
    users: manifest.users.length,
    aliases: manifest.aliases.length,
    mailboxes,
    messages,
    bytes,
    sieveScripts,
  };
}

export function parseDomainManifest(data: Buffer): DomainArchiveManifest {
  let manifest: DomainArchiveManifest;
  try {
    manifest = JSON.parse(data.toString('utf8')) as DomainArchiveManifest;
  } catch {
    throw new StoreError('invalid', 'the archive manifest is not JSON');
  }
  if (manifest?.format !== DOMAIN_ARCHIVE_FORMAT)
    throw new StoreError('invalid', 'not a Tegami domain archive (manifest.json says otherwise)');
  if (manifest.version !== DOMAIN_ARCHIVE_VERSION)
    throw new StoreError(
      'invalid',
      `domain archive version ${manifest.version} (this Tegami reads ${DOMAIN_ARCHIVE_VERSION})`,
    );
  if (
    typeof manifest.domain !== 'string' ||
    !Array.isArray(manifest.users) ||
    !Array.isArray(manifest.aliases) ||
    typeof manifest.settings !== 'object'
  )
    throw new StoreError(
      'invalid',
      'the domain archive manifest lacks its domain, settings, aliases or users',
    );
  const directories = new Set<string>();
  for (const user of manifest.users) {
    if (user.directory !== userDirectory(String(user.address)) || directories.has(user.directory))
      throw new StoreError('invalid', `the domain archive manifest names user ${user.address} wrongly`);
    if (!String(user.address).endsWith(`@${manifest.domain}`))
      throw new StoreError('invalid', `user ${user.address} is not in domain ${manifest.domain}`);
    if (user.account !== undefined && !isArchivedAccountState(user.account))
      throw new StoreError('invalid', `the password verifiers of user ${user.address} are malformed`);
    directories.add(user.directory);
  }
  return manifest;
}

/**
 * The entries after the domain manifest, one user's section at a time: each section is an
 * account archive (its paths without the directory), read as the caller iterates it; a
 * path outside the user's directory where that user is expected, or a user missing, is an
 * invalid archive.
 */
async function* userSections(
  manifest: DomainArchiveManifest,
  iterator: AsyncIterator<ArchiveEntry>,
): AsyncGenerator<{ readonly address: string; readonly entries: AsyncIterable<ArchiveEntry> }> {
  let next = await iterator.next();
  for (const user of manifest.users) {
    async function* section(): AsyncGenerator<ArchiveEntry> {
      while (!next.done && next.value.path.startsWith(user.directory)) {
        const entry = next.value;
        next = await iterator.next();
        yield { path: entry.path.slice(user.directory.length), data: entry.data };
      }
    }
    if (next.done || !next.value.path.startsWith(user.directory))
      throw new StoreError(
        'invalid',
        `the archive lacks user ${user.address} (${next.done ? 'it ends' : `${next.value.path} comes`} where ${user.directory} was due)`,
      );
    const entries = section();
    yield { address: user.address, entries };
    // Whatever of the section the caller left unread (a check stops at nothing; a restore reads all).
    for await (const _ of entries);
  }
  if (!next.done) throw new StoreError('invalid', `${next.value.path}: not part of any user of the archive`);
}

/** Reads the whole archive through, storing nothing: a restore runs this first (as for an account). */
export async function checkDomainArchive(
  entries: AsyncIterable<ArchiveEntry>,
): Promise<DomainArchiveManifest> {
  const iterator = entries[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) throw new StoreError('invalid', 'the archive is empty');
  if (first.value.path !== MANIFEST_ENTRY)
    throw new StoreError('invalid', 'not a Tegami archive (no manifest.json first)');
  const manifest = parseDomainManifest(first.value.data);
  for await (const user of userSections(manifest, iterator)) {
    const account = await checkAccountArchive(user.entries).catch((err: unknown) => {
      if (err instanceof StoreError) throw new StoreError(err.code, `user ${user.address}: ${err.message}`);
      throw err;
    });
    if (account.address !== user.address)
      throw new StoreError(
        'invalid',
        `${userDirectory(user.address)} holds the archive of ${account.address}`,
      );
  }
  return manifest;
}

export interface DomainRestoreResult extends DomainArchiveTotals {
  readonly domainCreated: boolean;
  /** Users the restore made (with their archived password verifiers, when the archive has them). */
  readonly usersCreated: readonly string[];
}

/**
 * Restores a domain archive (checked first with checkDomainArchive): the domain is made when
 * missing, with the archive's settings; each user is made when missing (with its archived
 * password verifiers, or a random password nobody knows in an archive without them) and must otherwise hold no messages and no Sieve scripts, as for
 * `tegami restore` of one account; then the aliases, which may point at those users.
 */
export async function restoreDomainArchive(
  pool: pg.Pool,
  entries: AsyncIterable<ArchiveEntry>,
  options: { readonly progress?: ArchiveProgress } = {},
): Promise<DomainRestoreResult> {
  const iterator = entries[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) throw new StoreError('invalid', 'the archive is empty');
  const manifest = parseDomainManifest(first.value.data);
  const made = await pool.query(
    `INSERT INTO domains (name, plus_addressing, sieve_before) VALUES ($1, $2, $3)
     ON CONFLICT (name) DO UPDATE SET plus_addressing = EXCLUDED.plus_addressing, sieve_before = EXCLUDED.sieve_before
     RETURNING (xmax = 0) AS created`,
    [manifest.domain, manifest.settings.plusAddressing, manifest.settings.sieveBefore],
  );
  const domainCreated = (made.rows[0] as { created: boolean }).created;
  // Every user there and empty before any message goes in: a conflict is found before the long part.
  const usersCreated: string[] = [];
  for (const user of manifest.users) {
    if (await findAccount(pool, user.address)) continue;
    // Made with the archived verifiers, so the user logs in as before; an archive without them
    // (none is written so now) gets a random password nobody knows.
    const state = user.account;
    if (state) await withTransaction(pool, (client) => createAccountFromArchive(client, user.address, state));
    else await createAccount(pool, user.address, randomBytes(24).toString('base64url'));
    usersCreated.push(user.address);
  }
  await refuseNonEmpty(pool, manifest);
  const total = manifest.users.reduce((n, u) => n + u.messages, 0);
  let messages = 0;
  let bytes = 0;
  let mailboxes = 0;
  let sieveScripts = 0;
  const progress = options.progress;
  for await (const user of userSections(manifest, iterator)) {
    const totals = await restoreAccountArchive(pool, user.address, user.entries, {
      ...(progress && {
        progress: (done) =>
          progress({ messages: messages + done.messages, bytes: bytes + done.bytes }, total),
      }),
    });
    messages += totals.messages;
    bytes += totals.bytes;
    mailboxes += totals.mailboxes;
    sieveScripts += totals.sieveScripts;
  }
  await restoreAliases(pool, manifest);
  return {
    users: manifest.users.length,
    aliases: manifest.aliases.length,
    mailboxes,
    messages,
    bytes,
    sieveScripts,
    domainCreated,
    usersCreated,
  };
}

async function refuseNonEmpty(pool: pg.Pool, manifest: DomainArchiveManifest): Promise<void> {
  const held = await pool.query<{ address: string; messages: string; scripts: string }>(
    `SELECT a.address,
            (SELECT count(*) FROM messages x JOIN mailboxes m ON m.id = x.mailbox_id WHERE m.account_id = a.id) AS messages,
            (SELECT count(*) FROM sieve_scripts s WHERE s.account_id = a.id) AS scripts
       FROM accounts a WHERE a.address = ANY($1::text[])`,
    [manifest.users.map((u) => u.address)],
  );
  const full = held.rows.filter((r) => Number(r.messages) > 0 || Number(r.scripts) > 0);
  if (full.length > 0)
    throw new StoreError(
      'conflict',
      `${full.map((r) => `${r.address} (${r.messages} messages, ${r.scripts} Sieve scripts)`).join(', ')} not empty: restore only into accounts with none`,
    );
}

/**
 * The archive's aliases, each with exactly the archived destinations (the postmaster alias
 * that making the first user set up included); the domain's other aliases stay. Written as
 * they were, without addAlias's check that a local destination exists: they held when
 * exported, and an alias may name another alias that comes later in the list.
 */
async function restoreAliases(pool: pg.Pool, manifest: DomainArchiveManifest): Promise<void> {
  await withTransaction(pool, async (client) => {
    for (const alias of manifest.aliases) {
      const user = await client.query('SELECT 1 FROM accounts WHERE address = $1', [alias.address]);
      if (user.rowCount) throw new StoreError('conflict', `alias ${alias.address} is a user here`);
      await client.query('DELETE FROM aliases WHERE address = $1', [alias.address]);
      await client.query(
        `INSERT INTO aliases (domain_id, address, destination)
         SELECT d.id, $2, unnest($3::text[]) FROM domains d WHERE d.name = $1`,
        [manifest.domain, alias.address, alias.destinations],
      );
    }
  });
}
