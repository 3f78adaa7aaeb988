import { createRequire } from 'node:module';
import type { MailBus } from '@tegami/bus';
import { normaliseFlags, type SieveAction, type SieveInput, withHeaderPrefix } from '@tegami/protocol';
import type { Logger } from '@tegami/runtime';
import {
  applySieveDelivery,
  blobId,
  type DueDelivery,
  findSieveDuplicates,
  junkMailbox,
  type LocalMailbox,
  loadSieveDeliveryContext,
  loadSieveIncludes,
  mailboxName,
  type QueueEntry,
  type SieveCopyContent,
  type SieveDeliveryStep,
  type StoredSieveScript,
} from '@tegami/store';
import type pg from 'pg';
import { type DescribeMessage, deliveryHeaderPrefix, type SharedBlob } from './local-delivery.js';
import type { MailboxBatcher } from './mailbox-batcher.js';
import { buildSieveErrorNotice } from './sieve-error-notice.js';
import { notifyMessage, rejectMessage, vacationReply } from './sieve-outgoing.js';
import { runSieveScripts, type SieveRunOutcome } from './sieve-run.js';
import type { CompiledScript, IncludeLoader, SieveScriptCache } from './sieve-script-cache.js';

// Local delivery through the recipient's Sieve script (RFC 5228): the script runs here, with
// no I/O of its own, and every action it asks for is written by one transaction with the
// delivery row (store/sieve-delivery.ts), so a job run twice, or cut by a crash, files,
// replies and redirects once. Only recipients whose route says they have a script come here.

const VERSION: string = createRequire(import.meta.url)('../package.json').version;

export interface SieveDeliveryDeps {
  readonly pool: pg.Pool;
  readonly bus: Pick<MailBus, 'publishJob' | 'publishMailboxChanged'>;
  /** Group commit per mailbox (mailbox-batcher.ts): for a script whose only action is one copy. */
  readonly batcher: MailboxBatcher;
  readonly hostname: string;
  /** The claimant holding the delivery row. */
  readonly worker: string;
  readonly scripts: SieveScriptCache;
  readonly describe: DescribeMessage;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
}

export type SieveLocalOutcome =
  | {
      readonly kind: 'delivered';
      /** The first copy's UID (null: the script kept no copy). */
      readonly uid: number | null;
      /** Recipients the script's redirects added to the message: deliver them next. */
      readonly redirected: number;
      readonly queueDone: boolean;
    }
  | { readonly kind: 'not-held' }
  | { readonly kind: 'no-such-user' }
  | { readonly kind: 'over-quota'; readonly reply: string };

interface ScriptFailure {
  readonly script: StoredSieveScript;
  readonly phase: 'compile' | 'run';
  readonly error: string;
}

export async function deliverWithSieve(
  deps: SieveDeliveryDeps,
  entry: QueueEntry,
  delivery: DueDelivery,
  account: LocalMailbox,
  blob: SharedBlob,
): Promise<SieveLocalOutcome> {
  const context = await loadSieveDeliveryContext(deps.pool, account.accountId, entry.queueId);
  if (!context) return { kind: 'no-such-user' };
  const loadIncludes: IncludeLoader = (names) => loadSieveIncludes(deps.pool, account.accountId, names);
  const compile = (script: StoredSieveScript | null): Promise<CompiledScript | null> =>
    script ? deps.scripts.compiled(script, context.includeVersion, loadIncludes) : Promise.resolve(null);
  const [before, personal] = await Promise.all([compile(context.before), compile(context.personal)]);

  const failures: ScriptFailure[] = [];
  if (before?.kind === 'error')
    failures.push({ script: context.before!, phase: 'compile', error: before.error.message });
  if (personal?.kind === 'error')
    failures.push({ script: context.personal!, phase: 'compile', error: personal.error.message });
  const scripts = {
    before: before?.kind === 'compiled' ? before.script : null,
    personal: personal?.kind === 'compiled' ? personal.script : null,
  };

  const headerPrefix = deliveryHeaderPrefix(entry, delivery.recipient);
  const message = Buffer.concat([headerPrefix, blob.bytes]);
  const now = new Date();
  const recipientDomain = delivery.recipient.slice(delivery.recipient.lastIndexOf('@') + 1).toLowerCase();
  // mailboxexists (RFC 5490) is the only test that needs the user's mailboxes: loaded for
  // the scripts that require it, not for every run.
  const mailboxes = [scripts.before, scripts.personal].some((s) => s?.requires.has('mailbox'))
    ? new Set([...context.mailboxes.keys()].map(mailboxKey))
    : null;
  const input: Omit<SieveInput, 'seenBefore'> = {
    message,
    envelope: { from: entry.sender, to: delivery.recipient, auth: context.authenticatedAs },
    environment: {
      domain: recipientDomain,
      host: deps.hostname,
      location: 'MDA',
      name: 'Tegami',
      phase: 'during',
      version: VERSION,
      ...(context.clientAddress && { 'remote-ip': context.clientAddress }),
    },
    now,
    // The address as sent counts as the user's too (a subaddress is theirs).
    ownAddresses: [...new Set([...context.ownAddresses, delivery.recipient.toLowerCase()])],
    spam: context.spam,
    ...(mailboxes && { mailboxExists: (name: string) => mailboxes.has(mailboxKey(name)) }),
  };
  const outcome: SieveRunOutcome =
    scripts.before || scripts.personal
      ? await runSieveScripts(scripts, input, (keys) =>
          findSieveDuplicates(deps.pool, account.accountId, keys),
        )
      : {
          actions: [{ type: 'keep', flags: null, implicit: true }],
          editedMessage: null,
          duplicateMarks: [],
          errors: [],
        };
  for (const e of outcome.errors) {
    const script = e.script === 'before' ? context.before! : context.personal!;
    failures.push({ script, phase: 'run', error: e.error.message });
  }

  const steps: SieveDeliveryStep[] = [];
  for (const action of outcome.actions) steps.push(...stepsFor(action, deps, entry, account, message, input));
  for (const f of failures) {
    steps.push({
      kind: 'note',
      record: { action: 'error', note: `${describeScript(f.script)}: ${f.error}` },
    });
    const fields = {
      queueId: entry.queueId,
      recipient: delivery.recipient,
      script: f.script.key,
      phase: f.phase,
      error: f.error,
    };
    // A user's broken script is the user's to fix (they are told, in their INBOX); the
    // domain's is the administrator's, who reads this log.
    if (f.script === context.personal)
      deps.logger.info(fields, "the user's Sieve script failed; kept in INBOX");
    else deps.logger.warn(fields, "the domain's Sieve script (sieve_before) failed; the user's runs alone");
  }

  const edited = outcome.editedMessage ? Buffer.from(outcome.editedMessage) : null;
  const content = edited ? ownContent(edited, deps.describe) : queueContent(blob, headerPrefix);
  // The user is told about their own script, once per version; the before script is the
  // administrator's, who has the log.
  const personalFailure = failures.find((f) => f.script === context.personal);
  const keepTarget = entry.junk ? junkMailbox(account) : account;
  // The common outcome, one copy into a mailbox that exists and nothing else (most messages a
  // filter set sees are kept or filed): a plain delivery with flags, through the batcher, in
  // one statement and one commit with the others for that mailbox, not a transaction of its own.
  const single = failures.length === 0 && !edited && outcome.duplicateMarks.length === 0 ? steps : [];
  const only = single.length === 1 && single[0]!.kind === 'store' ? single[0]! : null;
  if (only) {
    const target =
      only.mailbox === null ? keepTarget : existingMailbox(account, context.mailboxes, only.mailbox);
    if (target) {
      const flags = normaliseFlags(only.flags);
      const batched = await deps.batcher.deliver(target, {
        deliveryId: delivery.id,
        worker: deps.worker,
        blob: { sha256: blob.sha256, size: blob.bytes.length },
        headerPrefix,
        metadata: content.metadata,
        searchText: content.searchText,
        internalDate: now,
        reply: `250 2.0.0 delivered to ${account.address} by ${deps.hostname} through Sieve (${summary(steps)})`,
        flags,
        sieveRecord: { action: only.action, mailbox: target.name ?? 'INBOX', flags },
      });
      if (batched.kind === 'not-held') return batched;
      if (batched.kind === 'over-quota') {
        return {
          kind: 'over-quota',
          reply: `452 4.2.2 ${delivery.recipient}: mailbox full (quota ${account.quotaBytes} bytes, ${batched.usedBytes} used)`,
        };
      }
      if (batched.kind === 'delivered')
        return { kind: 'delivered', uid: batched.uid, redirected: 0, queueDone: batched.queueDone };
      // no-mailbox: deleted since the context was read; the transaction below files into INBOX.
    }
  }
  const result = await applySieveDelivery(deps.pool, {
    deliveryId: delivery.id,
    worker: deps.worker,
    queueId: entry.queueId,
    accountId: account.accountId,
    quotaBytes: account.quotaBytes,
    inbox: { id: account.inboxId, name: 'INBOX' },
    keepTarget: { id: keepTarget.inboxId, name: keepTarget.name ?? 'INBOX' },
    redirectedFrom: account.address,
    content,
    steps,
    // Only a script that ran to its end marks anything (RFC 7352 §3): the interpreter says so.
    duplicateMarks: outcome.duplicateMarks,
    ...(personalFailure && {
      errorNotice: {
        script: personalFailure.script.key,
        version: personalFailure.script.version,
        content: ownContent(
          buildSieveErrorNotice({
            hostname: deps.hostname,
            to: account.address,
            scriptName: personalFailure.script.name,
            phase: personalFailure.phase,
            error: personalFailure.error,
            subject: blob.description().metadata.envelope?.subject ?? null,
            messageId: entry.messageId,
            date: now,
          }),
          deps.describe,
        ),
      },
    }),
    internalDate: now,
    reply: `250 2.0.0 delivered to ${account.address} by ${deps.hostname} through Sieve (${summary(steps)})`,
  });
  if (result.kind === 'not-held') return result;
  if (result.kind === 'over-quota') {
    return {
      kind: 'over-quota',
      reply: `452 4.2.2 ${delivery.recipient}: mailbox full (quota ${account.quotaBytes} bytes, ${result.usedBytes} used)`,
    };
  }

  // After the commit: what it queued goes out through the usual path (the worker's bus
  // retries a failed publish, job-republisher.ts; the due scan is the net for a worker that
  // died), and IMAP sessions hear of the new messages.
  for (const queueId of result.queued) {
    await deps.bus
      .publishJob({ queueId, enqueuedAt: now.toISOString() })
      .catch((err) =>
        deps.logger.warn({ err, queueId }, 'could not queue the Sieve message; the due scan will'),
      );
  }
  for (const copy of result.copies) {
    await deps.bus
      .publishMailboxChanged({
        accountId: account.accountId,
        mailboxId: copy.mailboxId,
        kind: 'exists',
        uids: [copy.uid],
        modseq: copy.modseq.toString(),
      })
      .catch(() => undefined);
  }
  deps.logger.info(
    { queueId: entry.queueId, recipient: delivery.recipient, sieve: result.records },
    'delivered through Sieve',
  );
  const first = result.copies.find((c) => c.mailboxId === keepTarget.inboxId) ?? result.copies[0];
  return {
    kind: 'delivered',
    uid: first?.uid ?? null,
    redirected: result.redirected,
    queueDone: result.queueDone,
  };
}

/** What one action asks the store to do (or just to record). */
function stepsFor(
  action: SieveAction,
  deps: SieveDeliveryDeps,
  entry: QueueEntry,
  account: LocalMailbox,
  message: Buffer,
  input: Omit<SieveInput, 'seenBefore'>,
): SieveDeliveryStep[] {
  switch (action.type) {
    case 'keep':
      return [{ kind: 'store', action: 'keep', mailbox: null, create: false, flags: action.flags ?? [] }];
    case 'fileinto':
      return [
        {
          kind: 'store',
          action: 'fileinto',
          mailbox: action.mailbox,
          create: action.create,
          flags: action.flags ?? [],
        },
      ];
    case 'discard':
      return [{ kind: 'note', record: { action: 'discard' } }];
    case 'redirect':
      return [{ kind: 'redirect', address: canonicalAddress(action.address) }];
    case 'reject': {
      const name = action.extended ? 'ereject' : 'reject';
      // RFC 5429 §2.1: never to the null sender; the message is then discarded.
      if (entry.sender === '')
        return [{ kind: 'note', record: { action: name, note: 'not sent: the message has no sender (<>)' } }];
      return [
        {
          kind: 'send',
          action: 'reject',
          message: rejectMessage(deps.hostname, entry, account.address, message, action.reason, input.now),
        },
      ];
    }
    // The interpreter already left out a reply RFC 5230 §4.5/§4.6 and RFC 3834 forbid (to
    // <>, to a list, to automatic mail); what is left is once per sender and period.
    case 'vacation':
      return [
        {
          kind: 'send',
          action: 'vacation',
          message: vacationReply(deps.hostname, entry, account.address, action, input.now),
          once: { sender: action.to, handle: action.handle, seconds: action.seconds },
        },
      ];
    case 'notify': {
      const built = notifyMessage(deps.hostname, entry, account.address, message, action, input.now);
      if (typeof built === 'string')
        return [{ kind: 'note', record: { action: 'notify', note: `not sent: ${built}` } }];
      return [
        { kind: 'send', action: 'notify', message: built.message, moreRecipients: built.moreRecipients },
      ];
    }
  }
}

/** The copies as the queue holds the message: its blob behind this recipient's header lines. */
function queueContent(blob: SharedBlob, headerPrefix: Buffer): SieveCopyContent {
  const described = withHeaderPrefix(blob.bytes, blob.description(), headerPrefix);
  return {
    blob: { sha256: blob.sha256, size: blob.bytes.length },
    headerPrefix,
    metadata: described.metadata,
    searchText: described.searchText,
  };
}

/** A message of its own (as editheader left it, or a notice): a blob stored with the copy. */
function ownContent(raw: Buffer, describe: DescribeMessage): SieveCopyContent {
  const described = describe(raw);
  return {
    blob: { sha256: blobId(raw), size: raw.length },
    headerPrefix: Buffer.alloc(0),
    data: raw,
    metadata: described.metadata,
    searchText: described.searchText,
  };
}

/** The account's mailbox a fileinto names, as a delivery target, when it exists. */
function existingMailbox(
  account: LocalMailbox,
  mailboxes: ReadonlyMap<string, string>,
  requested: string,
): LocalMailbox | null {
  let name: string;
  try {
    name = mailboxName(requested);
  } catch {
    return null;
  }
  const id = mailboxes.get(name);
  return id === undefined ? null : { ...account, inboxId: id, name };
}

/** Mailbox names as the store keeps them: INBOX in any case is INBOX (RFC 3501 §5.1). */
function mailboxKey(name: string): string {
  const slash = name.indexOf('/');
  const first = slash < 0 ? name : name.slice(0, slash);
  return first.toUpperCase() === 'INBOX' ? `INBOX${slash < 0 ? '' : name.slice(slash)}` : name;
}

function canonicalAddress(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? address : `${address.slice(0, at)}@${address.slice(at + 1).toLowerCase()}`;
}

function describeScript(script: StoredSieveScript): string {
  return script.key.startsWith('global:') ? `global script "${script.name}"` : `script "${script.name}"`;
}

/** A few words on what the script did, for the delivery's reply: "fileinto Lists, vacation". */
function summary(steps: readonly SieveDeliveryStep[]): string {
  const words = steps.map(stepWord);
  return words.length === 0 ? 'nothing' : words.join(', ');
}

function stepWord(step: SieveDeliveryStep): string {
  switch (step.kind) {
    case 'store':
      return step.mailbox === null ? 'keep' : `fileinto ${step.mailbox}`;
    case 'redirect':
      return `redirect ${step.address}`;
    case 'send':
      return step.action;
    case 'note':
      return step.record.action;
  }
}
