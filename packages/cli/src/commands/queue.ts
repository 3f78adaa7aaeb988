import type { TraceMessage } from '@tegami/store';
import type { CommandGroup } from '../command.js';
import { JSON_OPTION, printJson } from '../json-output.js';
import { printTable } from '../table.js';

export const queueCommands: CommandGroup = {
  title: 'Queue and delivery',
  word: 'queue',
  description: `The queue holds each accepted message until every recipient is delivered, relayed or
bounced. These commands look at the recipients still waiting and act on them.`,
  commands: [
    {
      name: 'queue list',
      usage: ['[--json]'],
      summary: 'recipients waiting for delivery: attempts, next try, last reply',
      description: `Lists each recipient still waiting (up to 1,000): its message's queue id and sender,
the attempts so far, when the next one is due ("now" when it is), and the last reply.`,
      options: JSON_OPTION,
      examples: ['tegami queue list', 'tegami queue list --json'],
      run: async (args, ctx) => {
        const { listPendingRecipients } = await import('@tegami/store');
        const pending = await listPendingRecipients((await ctx.store()).pool);
        const now = new Date();
        if (args.has('--json')) {
          // nextAttemptAt as stored (null: due now); sender '' is the null sender <>.
          printJson(
            ctx.print,
            pending.map((p) => ({
              queueId: p.queueId,
              sender: p.sender,
              recipient: p.recipient,
              attempts: p.attempts,
              nextAttemptAt: p.nextAttemptAt ?? null,
              lastReply: p.lastReply ?? null,
            })),
          );
          return 0;
        }
        printTable(
          ctx.print,
          ['QUEUE ID', 'SENDER', 'RECIPIENT', 'ATTEMPTS', 'NEXT TRY', 'LAST REPLY'],
          pending.map((p) => [
            p.queueId,
            p.sender === '' ? '<>' : p.sender,
            p.recipient,
            String(p.attempts),
            p.nextAttemptAt && p.nextAttemptAt > now ? p.nextAttemptAt.toISOString() : 'now',
            p.lastReply ?? '-',
          ]),
        );
        return 0;
      },
    },
    {
      name: 'queue retry',
      usage: ['<queue-id>', '--all'],
      summary: 'try waiting recipients again now',
      description: `Makes the waiting recipients of one message, or with --all of every message, due
now instead of at their next retry time. A delivery worker takes them within seconds.`,
      options: { '--all': 'every waiting recipient of every message' },
      examples: ['tegami queue retry 4Q2K9X1Z7BDM3HJA', 'tegami queue retry --all'],
      run: async (args, ctx) => {
        const { countWaitingRecipients, retryAllInBatches, retryNow, StoreError } = await import(
          '@tegami/store'
        );
        const queueId = args.optional('queue-id');
        const pool = (await ctx.store()).pool;
        let messages: number;
        if (queueId === undefined) {
          // Every waiting recipient: in batches, with progress (a queue can hold millions);
          // an empty queue has no progress to show, only the result.
          const { progress } = await import('../progress.js');
          const total = await countWaitingRecipients(pool);
          const bar =
            total > 0 ? progress({ label: 'made due', unit: 'recipients', total, say: ctx.warn }) : undefined;
          const ids = await retryAllInBatches(pool, (n) => bar?.tick(n)).catch((err: unknown) => {
            bar?.fail();
            throw err;
          });
          bar?.done();
          messages = ids.size;
        } else {
          const ids = await retryNow(pool, queueId);
          if (ids.length === 0) throw new StoreError('not_found', `no waiting recipients for ${queueId}`);
          messages = ids.length;
        }
        // The workers' due scan (every few seconds) publishes the jobs.
        ctx.print(`${messages} message${messages === 1 ? '' : 's'} due for delivery now`);
        return 0;
      },
    },
    {
      name: 'queue drop',
      usage: ['<queue-id>'],
      summary: 'give up on a message without notifying its sender',
      description: `Gives up on the waiting recipients of a message. No delivery status notification
is sent: the sender is not told. Its trace records the drop.`,
      examples: ['tegami queue drop 4Q2K9X1Z7BDM3HJA'],
      run: async (args, ctx) => {
        const { dropQueued, StoreError } = await import('@tegami/store');
        const queueId = args.one('queue-id');
        const dropped = await dropQueued((await ctx.store()).pool, queueId);
        if (dropped === 0) throw new StoreError('not_found', `no waiting recipients for ${queueId}`);
        ctx.print(`dropped ${dropped} recipient${dropped === 1 ? '' : 's'} of ${queueId}`);
        return 0;
      },
    },
    {
      name: 'trace',
      usage: ['<queue-id|message-id>'],
      summary: "each recipient's history: when, which MX host, the reply",
      description: `Shows what became of a message: found by the queue id of the 250 reply
(\`queued as <id>\`) or by its Message-ID. For each recipient: its status and every
attempt, with the time, the MX host and address, and the reply. Exits 1 when there is
no such message.`,
      examples: ['tegami trace 4Q2K9X1Z7BDM3HJA', "tegami trace '<20240101.1234@example.com>'"],
      run: async (args, ctx) => {
        const { traceMessages } = await import('@tegami/store');
        const key = args.one('queue-id|message-id');
        const messages = await traceMessages((await ctx.store()).pool, key);
        if (messages.length === 0) {
          ctx.print(`no message with queue id or Message-ID ${key}`);
          return 1;
        }
        for (const m of messages) printTrace(ctx.print, m);
        return 0;
      },
    },
  ],
};

/** vacation, reject or notify: sieve-outgoing.ts names its Message-IDs <queue-id.kind@host>. */
function sieveKind(messageId: string | null): string {
  return /^<[^.@]+\.(\w+)@/.exec(messageId ?? '')?.[1] ?? 'reply';
}

function printTrace(print: (line: string) => void, m: TraceMessage): void {
  print(`${m.queueId}  ${m.state}  received ${m.receivedAt.toISOString()}  ${m.size} bytes`);
  print(`  from <${m.sender}>${m.clientAddress ? ` via ${m.listener ?? '?'} from ${m.clientAddress}` : ''}`);
  if (m.messageId) print(`  Message-ID: ${m.messageId}`);
  // Messages the system wrote about another one: a DSN, or what a Sieve script sent (listener 'sieve').
  if (m.reportsOn)
    print(
      m.listener === 'sieve'
        ? `  sent by a Sieve script (${sieveKind(m.messageId)}) about ${m.reportsOn}`
        : `  delivery status notification about ${m.reportsOn}`,
    );
  if (m.verdict) print(`  checks: ${describeVerdict(m.verdict)}`);
  for (const r of m.recipients) {
    const next = r.nextAttemptAt ? `, next try ${r.nextAttemptAt.toISOString()}` : '';
    const via = r.expandedFrom ? ` (via ${r.expandedFrom})` : '';
    print(`  to <${r.recipient}>${via}: ${r.status}${next}`);
    for (const a of r.attempts) {
      const where = a.mxHost ? ` ${a.mxHost}${a.address ? `[${a.address}]` : ''}` : '';
      print(`    ${a.at.toISOString()}  ${a.outcome}${where}  ${a.reply ?? ''}`);
    }
    for (const action of r.sieveActions ?? []) print(`    sieve: ${describeSieveAction(action)}`);
  }
}

/**
 * One action of a recipient's Sieve script, e.g. `fileinto "Lists/dev" (\Flagged) → uid 12`,
 * `vacation to <bob@example.org>: queued as 4Q2K…`, `error: line 3: unknown command`.
 */
function describeSieveAction(a: Record<string, unknown>): string {
  const parts = [String(a.action ?? '?')];
  if (typeof a.mailbox === 'string') parts.push(JSON.stringify(a.mailbox));
  if (Array.isArray(a.flags) && a.flags.length > 0) parts.push(`(${a.flags.join(' ')})`);
  if (a.created === true) parts.push('(created)');
  if (typeof a.uid === 'number') parts.push(`→ uid ${a.uid}`);
  if (typeof a.to === 'string') parts.push(`to <${a.to}>`);
  let line = parts.join(' ');
  if (typeof a.queueId === 'string') line += `: queued as ${a.queueId}`;
  if (typeof a.note === 'string') line += `: ${a.note}`;
  return line;
}

/**
 * The inbound checks on one line, e.g. `spf=pass helo=pass dkim=pass(example.com/s1)
 * dmarc=fail(p=quarantine: quarantine by policy) arc=none spam=add header 7.2/6 → junk`.
 */
function describeVerdict(v: Record<string, unknown>): string {
  const parts: string[] = [];
  if (typeof v.spf === 'string') parts.push(`spf=${v.spf}`);
  if (typeof v.spfHelo === 'string') parts.push(`helo=${v.spfHelo}`);
  if (Array.isArray(v.dkim)) {
    const signatures = v.dkim as { domain: string; selector: string; result: string }[];
    if (signatures.length === 0) parts.push('dkim=none');
    for (const d of signatures) parts.push(`dkim=${d.result}(${d.domain}/${d.selector})`);
  }
  const dmarc = v.dmarc as { result: string; policy: string; action: string; reason: string } | undefined;
  if (dmarc) parts.push(`dmarc=${dmarc.result}(p=${dmarc.policy}: ${dmarc.action} by ${dmarc.reason})`);
  if (typeof v.arc === 'string') parts.push(`arc=${v.arc}`);
  const spam = v.spam as
    | { action?: string; score?: number; required?: number; unscanned?: string }
    | undefined;
  if (spam?.unscanned) parts.push(`spam=unscanned(${spam.unscanned})`);
  else if (spam?.action) parts.push(`spam=${spam.action} ${spam.score}/${spam.required}`);
  return `${parts.join(' ')} → ${String(v.action ?? '?')}`;
}
