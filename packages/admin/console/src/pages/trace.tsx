import { seg } from '../api.js';
import type { TraceMessage } from '../types.js';
import { Empty, formatBytes, formatTime, href, Page, Problem, useResource } from '../ui.js';

/** Everything Tegami knows about one message (by queue id or Message-ID): `tegami trace` in HTML. */
export function TracePage({ traceKey }: { traceKey: string }) {
  const trace = useResource<{ messages: TraceMessage[] }>(traceKey ? `/trace/${seg(traceKey)}` : null, 5_000);
  const messages = trace.data?.messages ?? [];
  return (
    <Page
      title={`Trace ${traceKey}`}
      actions={
        <>
          <a href={href('queue')}>Back to the queue</a>
          <button type="button" onClick={trace.reload} disabled={trace.loading}>
            Refresh
          </button>
        </>
      }
    >
      <Problem error={trace.error} />
      {trace.data && messages.length === 0 ? (
        <Empty>No message with that queue id or Message-ID.</Empty>
      ) : null}
      {messages.map((m) => (
        <article class="card trace" key={m.queueId}>
          <header class="card-head">
            <h2 class="mono">{m.queueId}</h2>
            <span class={`pill ${m.state === 'done' ? 'ok' : ''}`}>{m.state}</span>
          </header>
          <dl class="facts">
            <dt>From</dt>
            <dd>{m.sender || '<>'}</dd>
            <dt>Message-ID</dt>
            <dd class="mono">{m.messageId ?? '—'}</dd>
            <dt>Received</dt>
            <dd>
              {formatTime(m.receivedAt)}
              {m.clientAddress ? ` from ${m.clientAddress}` : ''}
              {m.listener ? ` on ${m.listener}` : ''}
            </dd>
            <dt>Size</dt>
            <dd>{formatBytes(m.size)}</dd>
            {m.verdict ? (
              <>
                <dt>Checks</dt>
                <dd class="mono">{verdictText(m.verdict)}</dd>
              </>
            ) : null}
          </dl>
          <table>
            <thead>
              <tr>
                <th>Recipient</th>
                <th>Status</th>
                <th>Attempts</th>
              </tr>
            </thead>
            <tbody>
              {m.recipients.map((r) => (
                <tr key={r.recipient} class="trace-recipient">
                  <td>
                    {r.recipient}
                    {r.expandedFrom ? <div class="sub">via {r.expandedFrom}</div> : null}
                  </td>
                  <td>
                    <span class={`pill ${statusTone(r.status)}`}>{r.status}</span>
                    {r.nextAttemptAt ? <div class="sub">next {formatTime(r.nextAttemptAt)}</div> : null}
                  </td>
                  <td>
                    {r.attempts.length === 0 ? (
                      '—'
                    ) : (
                      <ol class="attempts">
                        {r.attempts.map((a) => (
                          <li key={a.at + a.outcome}>
                            <span class="when">{formatTime(a.at)}</span> <strong>{a.outcome}</strong>
                            {a.mxHost ? ` ${a.mxHost}${a.address ? `[${a.address}]` : ''}` : ''}
                            {a.reply ? <div class="reply">{a.reply}</div> : null}
                          </li>
                        ))}
                      </ol>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </article>
      ))}
    </Page>
  );
}

function statusTone(status: string): string {
  if (/delivered|relayed|done|expanded/.test(status)) return 'ok';
  if (/bounced|failed|dropped|rejected/.test(status)) return 'bad';
  return 'warn';
}

/** The checks' verdict (SPF, DKIM, DMARC, spam) in one line: "spf=pass dkim=none …". */
function verdictText(verdict: Record<string, unknown>): string {
  return Object.entries(verdict)
    .map(
      ([name, value]) =>
        `${name}=${typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)}`,
    )
    .join('  ');
}
