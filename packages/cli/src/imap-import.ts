import type { MailBus } from '@tegami/bus';
import type { SpecialUseAttribute } from '@tegami/protocol';
import type { ImapImportMessage, StorePool } from '@tegami/store';
import type { ImapFlow } from 'imapflow';
import type { PlannedFolder, SkippedFolder } from './imap-folder-plan.js';
import type { ImapSource } from './imap-source-url.js';
import type { Progress } from './progress.js';

// `tegami import imap`: an imapsync-like copy of a user's folders from a live IMAP server.
// Two passes over the source, both read-only (EXAMINE, BODY.PEEK): a scan that counts what
// is left to copy in each folder (UID FETCH n:* (UID RFC822.SIZE), n past what earlier runs
// copied), for the progress bar and to say "nothing to copy"; then the copy, folder by
// folder, in batches of known UIDs (at most BATCH_MESSAGES messages or BATCH_BYTES bytes by
// the sizes the scan saw, or one message larger than that), each stored with its folder's
// progress in one transaction (store/imap-import-progress.ts) while the next one is fetched.
// Memory holds two batches (one stored, one fetched) and the UID list of the folder being
// copied, whatever the mailbox's size.

const BATCH_MESSAGES = 500;
const BATCH_BYTES = 32 * 1024 * 1024;

export interface ImapImportOptions {
  readonly source: ImapSource;
  readonly password: string;
  /** Plain text when the server offers no STARTTLS, and a certificate that does not verify. */
  readonly insecure: boolean;
  readonly include: readonly string[];
  readonly exclude: readonly string[];
}

export interface ImapFolderResult {
  readonly sourceName: string;
  readonly target: string;
  readonly messages: number;
  readonly bytes: number;
  /** Copied by an earlier run (progress) or the same bytes in the mailbox already. */
  readonly skipped: number;
  /** Every message of the folder was in Tegami before this run. */
  readonly upToDate: boolean;
  readonly note?: string;
}

export interface ImapImportResult {
  readonly folders: readonly ImapFolderResult[];
  readonly skipped: readonly SkippedFolder[];
  /** Whether the connection was encrypted (only --insecure allows it not to be). */
  readonly encrypted: boolean;
}

export interface ImapImportHooks {
  /** The progress, once the scan knows how many messages are left to copy. */
  readonly progress: (total: number, bytes: number) => Progress;
  /**
   * The bus that tells IMAP sessions of the new messages and mailboxes (none in the
   * standalone), opened once the source has taken the login.
   */
  readonly openBus?: () => Promise<Pick<MailBus, 'publishMailboxChanged'> | undefined>;
}

/** A failure the operator can act on: said in one line, with no stack. */
export class ImapImportError extends Error {}

export async function importFromImap(
  store: StorePool,
  accountId: string,
  options: ImapImportOptions,
  hooks: ImapImportHooks,
): Promise<ImapImportResult> {
  const client = await connectSource(options);
  try {
    const bus = await hooks.openBus?.();
    return await copyFolders(client, store, accountId, options, { ...hooks, bus });
  } catch (err) {
    // The source went away or refused a command mid-copy: what is stored stays stored.
    if (err instanceof ImapImportError || client.usable) throw err;
    throw new ImapImportError(
      `the connection to ${options.source.display} was lost (${(err as Error).message}): run the same command again to continue where this one stopped`,
    );
  } finally {
    await client.logout().catch(() => client.close());
  }
}

async function connectSource(options: ImapImportOptions): Promise<ImapFlow> {
  const { ImapFlow } = await import('imapflow');
  const { source } = options;
  const client = new ImapFlow({
    host: source.host,
    port: source.port,
    secure: source.implicitTls,
    // imap://: the login waits for STARTTLS, and a server that does not offer it is refused,
    // since a missing STARTTLS capability is exactly what an attacker on the path would show.
    ...(!source.implicitTls && !options.insecure && { doSTARTTLS: true }),
    ...(/^[\d.]+$|:/.test(source.host) ? {} : { servername: source.host }),
    tls: { rejectUnauthorized: !options.insecure },
    auth: { user: source.user, pass: options.password },
    logger: false,
    disableAutoIdle: true,
    // BINARY would hand back decoded parts; the copy is of the bytes as stored.
    disableBinary: true,
    clientInfo: { name: 'tegami import imap' },
  });
  // A connection lost between commands is reported as an error event: the command that
  // runs next fails with it, which is where it is reported.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    throw new ImapImportError(describeConnectFailure(options, err));
  }
  return client;
}

function describeConnectFailure(options: ImapImportOptions, err: unknown): string {
  const where = options.source.display;
  const e = err as {
    authenticationFailed?: boolean;
    responseText?: string;
    code?: string;
    message?: string;
  };
  if (e.authenticationFailed)
    return `${where} refused the login of ${options.source.user}${e.responseText ? `: ${e.responseText}` : ''}`;
  const message = e.message ?? String(err);
  if (/STARTTLS/i.test(message) && !options.source.implicitTls)
    return `${where} offers no STARTTLS, so the password would cross the network in clear text: use imaps:// or, on a network you trust, --insecure`;
  if (/certificate|self[- ]signed|unable to verify|CERT_|altnames/i.test(`${e.code ?? ''} ${message}`))
    return `cannot verify the certificate of ${where}: ${message} (NODE_EXTRA_CA_CERTS=<ca.pem> trusts a private CA; --insecure skips the check)`;
  return `cannot connect to ${where}: ${message}`;
}

interface FolderScan {
  readonly folder: PlannedFolder;
  readonly uidValidity: number;
  readonly left: number;
  readonly leftBytes: number;
}

/** The hooks with the bus opened. */
type CopyHooks = ImapImportHooks & { readonly bus: Pick<MailBus, 'publishMailboxChanged'> | undefined };

async function copyFolders(
  client: ImapFlow,
  store: StorePool,
  accountId: string,
  options: ImapImportOptions,
  hooks: CopyHooks,
): Promise<ImapImportResult> {
  const { planFolders } = await import('./imap-folder-plan.js');
  const { listMailboxes, readImapImportProgress } = await import('@tegami/store');
  const listed = await client.list();
  const targetUses = new Map<SpecialUseAttribute, string>();
  for (const mailbox of await listMailboxes(store.pool, accountId))
    if (mailbox.specialUse && !targetUses.has(mailbox.specialUse))
      targetUses.set(mailbox.specialUse, mailbox.name);
  const plan = planFolders(listed, {
    namespacePrefix: client.namespace?.prefix ?? '',
    include: options.include,
    exclude: options.exclude,
    targetUses,
  });
  if (plan.folders.length === 0 && options.include.length > 0)
    throw new ImapImportError(
      `no folder of ${options.source.display} matches --folder ${options.include.join(',')}`,
    );

  // The scan: what each folder has beyond what earlier runs copied.
  const earlier = await readImapImportProgress(store.pool, accountId, options.source.key);
  const scans: FolderScan[] = [];
  let total = 0;
  let totalBytes = 0;
  for (const folder of plan.folders) {
    const opened = await client.mailboxOpen(folder.sourcePath, { readOnly: true });
    const uidValidity = Number(opened.uidValidity);
    const done = earlier.get(folder.sourcePath);
    const from = done && done.uidValidity === uidValidity ? done.lastUid : 0;
    const { count, bytes } = await countLeft(client, opened.exists, opened.uidNext, from);
    scans.push({ folder, uidValidity, left: count, leftBytes: bytes });
    total += count;
    totalBytes += bytes;
  }

  const progress = hooks.progress(total, totalBytes);
  const results: ImapFolderResult[] = [];
  try {
    for (const scan of scans)
      results.push(await copyFolder(client, store, accountId, options, hooks, scan, progress));
  } catch (err) {
    progress.fail();
    throw err;
  }
  progress.done();
  return { folders: results, skipped: plan.skipped, encrypted: client.secureConnection };
}

/** How many messages (and bytes) above `afterUid` the open folder holds. */
async function countLeft(
  client: ImapFlow,
  exists: number,
  uidNext: number,
  afterUid: number,
): Promise<{ count: number; bytes: number }> {
  const found = await uidsAbove(client, exists, uidNext, afterUid);
  return { count: found.uids.length, bytes: found.sizes.reduce((n, s) => n + s, 0) };
}

/**
 * The open folder's UIDs above `afterUid`, ascending, and their sizes: two arrays of numbers
 * (8 bytes a message), not one object each.
 */
async function uidsAbove(
  client: ImapFlow,
  exists: number,
  uidNext: number,
  afterUid: number,
): Promise<{ uids: number[]; sizes: number[] }> {
  // UIDNEXT at or below the next UID wanted: nothing new (and `n:*` would return the last
  // message anyway, RFC 3501 §6.4.8).
  if (exists === 0 || (uidNext > 0 && uidNext <= afterUid + 1)) return { uids: [], sizes: [] };
  let uids: number[] = [];
  let sizes: number[] = [];
  let ordered = true;
  for await (const message of client.fetch(`${afterUid + 1}:*`, { uid: true, size: true }, { uid: true })) {
    if (message.uid <= afterUid) continue;
    if (uids.length > 0 && message.uid < uids.at(-1)!) ordered = false;
    uids.push(message.uid);
    sizes.push(message.size ?? 0);
  }
  // Servers answer in UID order in practice; RFC 3501 does not promise it.
  if (!ordered) {
    const order = uids.map((_, i) => i).sort((a, b) => uids[a]! - uids[b]!);
    uids = order.map((i) => uids[i]!);
    sizes = order.map((i) => sizes[i]!);
  }
  return { uids, sizes };
}

async function copyFolder(
  client: ImapFlow,
  store: StorePool,
  accountId: string,
  options: ImapImportOptions,
  hooks: CopyHooks,
  scan: FolderScan,
  progress: Progress,
): Promise<ImapFolderResult> {
  const { describeMessage } = await import('@tegami/protocol');
  const { beginImapImportFolder, claimSpecialUse, importImapBatch, prepareImportMailbox } = await import(
    '@tegami/store'
  );
  const { folder } = scan;
  const opened = await client.mailboxOpen(folder.sourcePath, { readOnly: true });
  const uidValidity = Number(opened.uidValidity);
  const target = await prepareImportMailbox(store.pool, accountId, folder.target, {
    subscribe: folder.subscribed,
  });
  if (target.created)
    await announce(hooks, { accountId, mailboxId: target.mailboxId, kind: 'created', name: target.name });
  if (folder.claimUse) await claimSpecialUse(store.pool, accountId, target.mailboxId, folder.claimUse);
  const key = { accountId, source: options.source.key, sourceFolder: folder.sourcePath };
  const start = await beginImapImportFolder(store.pool, key, uidValidity, target.mailboxId);
  const note =
    start.restarted === 'uidvalidity'
      ? 'its UIDVALIDITY changed: copied again, skipping messages already there'
      : start.restarted === 'mailbox'
        ? 'its mailbox is new: copied again, skipping messages already there'
        : undefined;
  if (note) progress.note(`tegami: ${folder.sourceName}: ${note}`);

  const { uids, sizes } = await uidsAbove(client, opened.exists, opened.uidNext, start.lastUid);
  let messages = 0;
  let bytes = 0;
  let skipped = 0;
  let index = 0;
  const storeBatch = async (batch: readonly ImapImportMessage[], throughUid: number) => {
    const stored = await importImapBatch(
      store.pool,
      key,
      { mailboxId: target.mailboxId, uidValidity },
      batch,
      throughUid,
    );
    messages += stored.imported;
    bytes += stored.bytes;
    skipped += stored.skipped;
    if (stored.uids.length > 0)
      await announce(hooks, {
        accountId,
        mailboxId: target.mailboxId,
        kind: 'exists',
        uids: stored.uids,
        ...(stored.modseq !== undefined && { modseq: stored.modseq.toString() }),
      });
  };
  let pending: Promise<void> | undefined;
  progress.setDetail(`${folder.sourceName} 0/${uids.length}`);
  while (index < uids.length) {
    // The batch: UIDs in a row, bounded by count and by the sizes the server gave.
    let end = index;
    let size = 0;
    while (
      end < uids.length &&
      end - index < BATCH_MESSAGES &&
      (end === index || size + sizes[end]! <= BATCH_BYTES)
    ) {
      size += sizes[end]!;
      end++;
    }
    const wanted = uids.slice(index, end);
    const batch: ImapImportMessage[] = [];
    const query = { uid: true, flags: true, internalDate: true, source: true } as const;
    for await (const message of client.fetch(uidSet(wanted), query, { uid: true })) {
      // A message expunged on the source since the scan is not sent: nothing to copy.
      if (!message.source || message.uid < wanted[0]! || message.uid > wanted.at(-1)!) continue;
      const description = describeMessage(message.source);
      batch.push({
        sourceUid: message.uid,
        raw: message.source,
        // \Recent belongs to the session that sees a message first (RFC 3501 §2.3.2), not to the message.
        flags: [...(message.flags ?? [])].filter((f) => f.toLowerCase() !== '\\recent'),
        internalDate: internalDateOf(message.internalDate),
        metadata: description.metadata,
        searchText: description.searchText,
      });
      progress.setDetail(`${folder.sourceName} ${index + batch.length}/${uids.length}`);
      progress.tick(1, message.source.length);
    }
    // Stored while the next batch is fetched (the two wait on different servers); one store
    // at a time, in order, so the folder's progress only moves forward.
    if (pending) await pending;
    pending = storeBatch(batch, wanted.at(-1)!);
    // Seen to now; awaited (and its failure thrown) before the next store or at the end.
    pending.catch(() => undefined);
    index = end;
  }
  if (pending) await pending;
  return {
    sourceName: folder.sourceName,
    target: target.name,
    messages,
    bytes,
    skipped,
    upToDate: uids.length === 0,
    ...(note && { note }),
  };
}

/** Like the delivery-worker's: at most once; a session that misses it catches up on its next command. */
async function announce(
  hooks: CopyHooks,
  event: Parameters<MailBus['publishMailboxChanged']>[0],
): Promise<void> {
  await hooks.bus?.publishMailboxChanged(event).catch(() => undefined);
}

function internalDateOf(value: Date | string | undefined): Date {
  const date = value instanceof Date ? value : new Date(value ?? Number.NaN);
  // A server that sends none (or one that does not parse): the time of the copy, as APPEND would.
  return Number.isNaN(date.getTime()) ? new Date() : date;
}

/** 1,2,3,7,9,10 → "1:3,7,9:10". */
export function uidSet(uids: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < uids.length) {
    let j = i;
    while (j + 1 < uids.length && uids[j + 1] === uids[j]! + 1) j++;
    parts.push(j === i ? String(uids[i]) : `${uids[i]}:${uids[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
