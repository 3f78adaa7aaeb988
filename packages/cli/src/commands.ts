import {
  addAlias,
  addDomain,
  createAccount,
  dropQueued,
  type LegacySaslPolicy,
  listAccounts,
  listAliases,
  listDomains,
  listPendingRecipients,
  migrate,
  removeAccount,
  removeAlias,
  removeDomain,
  retryNow,
  StoreError,
  type StorePool,
  setPassword,
  setQuota,
  type TraceMessage,
  traceMessages,
} from '@tegami/store';
import { checkDependencies } from './check.js';

export interface CommandContext {
  readonly store: StorePool;
  /** The NATS to check, in a deployment (DATABASE_URL set); unset for the standalone. */
  readonly nats?: { readonly servers: readonly string[]; readonly prefix: string };
  readonly describeError: (err: unknown) => string;
  readonly print: (line: string) => void;
  /** Obtains a new password the safe way (stdin or prompt), never from argv. */
  readonly newPassword: () => Promise<string>;
  /** Whether a new password gets CRAM-MD5/DIGEST-MD5 secrets, and the key that seals them. */
  readonly legacySasl: () => LegacySaslPolicy;
}

export class UsageError extends Error {}

export const USAGE = `Usage: tegami <command>

  migrate                                  apply database migrations
  check                                    check that Postgres (and NATS) answer and the schema is current
  domain add <domain>                      add a local mail domain
  domain list                              list domains with their user and alias counts
  domain remove <domain>                   remove a domain that has no users or aliases
  user add <address> [--password-stdin]   create a user with the standard mailboxes
  user passwd <address> [--password-stdin] change a user's password
  user quota <address> <size>|none         limit a user's mail (e.g. 500M, 2G; bounced when full)
  user list [<domain>]                     list users
  user remove <address>                    remove a user with all of their mail
  alias add <alias> <destination>...       deliver mail for <alias> to the destinations
  alias list [<domain>]                    list aliases
  alias remove <alias> [<destination>...]  remove an alias, or some of its destinations
  queue list                               recipients waiting for delivery: attempts, next try, last reply
  queue retry <queue-id> | --all           try waiting recipients again now
  queue drop <queue-id>                    give up on a message without notifying its sender
  trace <queue-id | message-id>            each recipient's history: when, which MX host, the reply

The database is DATABASE_URL, or else the standalone's embedded Postgres in
TEGAMI_DATA_DIR (default ./data). Passwords come from standard input with
--password-stdin, or from a prompt; never from the command line.`;

/**
 * Runs one command and returns its exit code (0, or 1 when `check` finds a problem);
 * throws UsageError or StoreError for a refusal.
 */
export async function runCommand(args: readonly string[], ctx: CommandContext): Promise<number> {
  const [group, action, ...rest] = args;
  const single = group === 'migrate' || group === 'check' || group === 'trace';
  const key = single ? group : `${group} ${action}`;
  const operands = single ? [action, ...rest].filter((x): x is string => x !== undefined) : rest;
  const { store, print } = ctx;
  switch (key) {
    case 'check': {
      expectOperands(operands, 0, 0, 'check');
      const results = await checkDependencies(
        { store, ...(ctx.nats ? { nats: ctx.nats } : {}) },
        ctx.describeError,
      );
      for (const result of results)
        print(`${result.name.padEnd(10)}${result.ok ? 'ok   ' : 'FAIL '}${result.detail}`);
      return results.every((result) => result.ok) ? 0 : 1;
    }
    case 'migrate': {
      expectOperands(operands, 0, 0, 'migrate');
      const result = await migrate(store.pool);
      print(
        result.applied.length === 0
          ? `schema is up to date (version ${result.version})`
          : `applied ${result.applied.map((v) => String(v).padStart(4, '0')).join(', ')}; schema is at version ${result.version}`,
      );
      return 0;
    }
    case 'domain add': {
      const [name] = expectOperands(operands, 1, 1, 'domain add <domain>');
      print(`added domain ${(await addDomain(store.pool, name!)).name}`);
      return 0;
    }
    case 'domain list': {
      expectOperands(operands, 0, 0, 'domain list');
      const domains = await listDomains(store.pool);
      table(
        print,
        ['DOMAIN', 'USERS', 'ALIASES'],
        domains.map((d) => [d.name, String(d.accounts), String(d.aliases)]),
      );
      return 0;
    }
    case 'domain remove': {
      const [name] = expectOperands(operands, 1, 1, 'domain remove <domain>');
      await removeDomain(store.pool, name!);
      print(`removed domain ${name!.toLowerCase()}`);
      return 0;
    }
    case 'user add': {
      const [address] = expectOperands(operands, 1, 1, 'user add <address> [--password-stdin]');
      const legacy = ctx.legacySasl();
      const account = await createAccount(store.pool, address!, await ctx.newPassword(), legacy);
      print(`added user ${account.address} (INBOX, Sent, Drafts, Trash, Junk, Archive)`);
      return 0;
    }
    case 'user passwd': {
      const [address] = expectOperands(operands, 1, 1, 'user passwd <address> [--password-stdin]');
      const legacy = ctx.legacySasl();
      await setPassword(store.pool, address!, await ctx.newPassword(), legacy);
      print(`changed the password of ${address!.toLowerCase()}`);
      return 0;
    }
    case 'user quota': {
      const [address, size] = expectOperands(operands, 2, 2, 'user quota <address> <size>|none');
      const bytes = size === 'none' ? null : parseSize(size!);
      await setQuota(store.pool, address!, bytes);
      print(
        bytes === null
          ? `${address!.toLowerCase()} has no quota`
          : `${address!.toLowerCase()} may keep ${bytes} bytes`,
      );
      return 0;
    }
    case 'user list': {
      const [domain] = expectOperands(operands, 0, 1, 'user list [<domain>]');
      const accounts = await listAccounts(store.pool, domain?.toLowerCase());
      table(
        print,
        ['ADDRESS', 'STATUS', 'CREATED'],
        accounts.map((a) => [a.address, a.disabled ? 'disabled' : 'active', a.createdAt.toISOString()]),
      );
      return 0;
    }
    case 'user remove': {
      const [address] = expectOperands(operands, 1, 1, 'user remove <address>');
      await removeAccount(store.pool, address!);
      print(`removed user ${address!.toLowerCase()} and all of their mail`);
      return 0;
    }
    case 'alias add': {
      const [alias, ...destinations] = expectOperands(
        operands,
        2,
        Infinity,
        'alias add <alias> <destination>...',
      );
      const result = await addAlias(store.pool, alias!, destinations);
      print(`${result.address} → ${result.destinations.join(', ')}`);
      return 0;
    }
    case 'alias list': {
      const [domain] = expectOperands(operands, 0, 1, 'alias list [<domain>]');
      const aliases = await listAliases(store.pool, domain?.toLowerCase());
      table(
        print,
        ['ALIAS', 'DESTINATIONS'],
        aliases.map((a) => [a.address, a.destinations.join(', ')]),
      );
      return 0;
    }
    case 'alias remove': {
      const [alias, ...destinations] = expectOperands(
        operands,
        1,
        Infinity,
        'alias remove <alias> [<destination>...]',
      );
      await removeAlias(store.pool, alias!, destinations);
      print(
        destinations.length === 0
          ? `removed alias ${alias!.toLowerCase()}`
          : `removed ${destinations.join(', ')}`,
      );
      return 0;
    }
    case 'queue list': {
      expectOperands(operands, 0, 0, 'queue list');
      const pending = await listPendingRecipients(store.pool);
      table(
        print,
        ['QUEUE ID', 'SENDER', 'RECIPIENT', 'ATTEMPTS', 'NEXT TRY', 'LAST REPLY'],
        pending.map((p) => [
          p.queueId,
          p.sender === '' ? '<>' : p.sender,
          p.recipient,
          String(p.attempts),
          p.nextAttemptAt && p.nextAttemptAt > new Date() ? p.nextAttemptAt.toISOString() : 'now',
          p.lastReply ?? '-',
        ]),
      );
      return 0;
    }
    case 'queue retry': {
      const [target] = expectOperands(operands, 1, 1, 'queue retry <queue-id> | --all');
      const ids = await retryNow(store.pool, target === '--all' ? undefined : target);
      if (ids.length === 0 && target !== '--all')
        throw new StoreError('not_found', `no waiting recipients for ${target}`);
      // The workers' due scan (every few seconds) publishes the jobs.
      print(`${ids.length} message${ids.length === 1 ? '' : 's'} due for delivery now`);
      return 0;
    }
    case 'queue drop': {
      const [queueId] = expectOperands(operands, 1, 1, 'queue drop <queue-id>');
      const dropped = await dropQueued(store.pool, queueId!);
      if (dropped === 0) throw new StoreError('not_found', `no waiting recipients for ${queueId}`);
      print(`dropped ${dropped} recipient${dropped === 1 ? '' : 's'} of ${queueId}`);
      return 0;
    }
    case 'trace': {
      const [key] = expectOperands(operands, 1, 1, 'trace <queue-id | message-id>');
      const messages = await traceMessages(store.pool, key!);
      if (messages.length === 0) {
        print(`no message with queue id or Message-ID ${key}`);
        return 1;
      }
      for (const m of messages) printTrace(print, m);
      return 0;
    }
    default:
      throw new UsageError(
        group === undefined ? 'no command given' : `unknown command: ${args.slice(0, 2).join(' ')}`,
      );
  }
}

function printTrace(print: (line: string) => void, m: TraceMessage): void {
  print(`${m.queueId}  ${m.state}  received ${m.receivedAt.toISOString()}  ${m.size} bytes`);
  print(`  from <${m.sender}>${m.clientAddress ? ` via ${m.listener ?? '?'} from ${m.clientAddress}` : ''}`);
  if (m.messageId) print(`  Message-ID: ${m.messageId}`);
  if (m.reportsOn) print(`  delivery status notification about ${m.reportsOn}`);
  for (const r of m.recipients) {
    const next = r.nextAttemptAt ? `, next try ${r.nextAttemptAt.toISOString()}` : '';
    const via = r.expandedFrom ? ` (via ${r.expandedFrom})` : '';
    print(`  to <${r.recipient}>${via}: ${r.status}${next}`);
    for (const a of r.attempts) {
      const where = a.mxHost ? ` ${a.mxHost}${a.address ? `[${a.address}]` : ''}` : '';
      print(`    ${a.at.toISOString()}  ${a.outcome}${where}  ${a.reply ?? ''}`);
    }
  }
}

/** "1048576", "500K", "500M", "2G" (powers of 1024). */
function parseSize(text: string): number {
  const match = /^(\d+)\s*([KMG]?)B?$/i.exec(text.trim());
  if (!match) throw new UsageError(`not a size: ${text} (bytes, or a number with K, M or G)`);
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[match[2]!.toUpperCase()]!;
  return Number(match[1]) * unit;
}

function expectOperands(
  operands: readonly string[],
  min: number,
  max: number,
  usage: string,
): readonly string[] {
  if (operands.length < min || operands.length > max) throw new UsageError(`usage: tegami ${usage}`);
  return operands;
}

function table(
  print: (line: string) => void,
  header: readonly string[],
  rows: readonly (readonly string[])[],
): void {
  if (rows.length === 0) {
    print('(none)');
    return;
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  for (const row of [header, ...rows]) {
    print(row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
  }
}
