import { useState } from 'preact/hooks';
import { api, seg } from '../api.js';
import type { QueuedRecipient } from '../types.js';
import {
  Empty,
  formatTime,
  href,
  Notice,
  Page,
  Problem,
  relativeTime,
  useAction,
  useResource,
} from '../ui.js';

/** The recipients still waiting for delivery, oldest first; refreshed every 5 s. */
export function QueuePage({ readOnly }: { readOnly: boolean }) {
  const queue = useResource<{ recipients: QueuedRecipient[] }>('/queue', 5_000);
  const action = useAction(queue.reload);
  const [key, setKey] = useState('');
  const list = queue.data?.recipients ?? [];
  const retry = (queueId: string) =>
    action.run(() => api('POST', `/queue/${seg(queueId)}/retry`), `${queueId} will be tried again now.`);
  const drop = (queueId: string) => {
    if (!confirm(`Drop ${queueId}? Its recipients get nothing and the sender is not told.`)) return;
    void action.run(() => api('DELETE', `/queue/${seg(queueId)}`), `Dropped ${queueId}.`);
  };
  return (
    <Page
      title="Queue"
      actions={
        <>
          <form
            class="inline"
            onSubmit={(event) => {
              event.preventDefault();
              if (key.trim()) location.hash = href('trace', key.trim());
            }}
          >
            <label>
              Trace
              <input
                value={key}
                onInput={(e) => setKey(e.currentTarget.value)}
                placeholder="queue id or Message-ID"
              />
            </label>
            <button type="submit">Trace</button>
          </form>
          {readOnly ? null : (
            <button
              type="button"
              disabled={action.busy || list.length === 0}
              onClick={() =>
                action.run(() => api('POST', '/queue/retry-all'), 'Every deferred message will be tried now.')
              }
            >
              Retry all
            </button>
          )}
        </>
      }
    >
      <Problem error={action.error ?? queue.error} />
      <Notice text={action.notice} />
      {queue.data && list.length === 0 ? <Empty>The queue is empty.</Empty> : null}
      {list.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th>Queue id, from</th>
              <th>To</th>
              <th>State</th>
              <th class="num">Attempts</th>
              <th>Next attempt</th>
              <th>Last reply</th>
              {readOnly ? null : <th />}
            </tr>
          </thead>
          <tbody>
            {list.map((r) => (
              <tr key={`${r.queueId} ${r.recipient}`} data-queue-id={r.queueId}>
                <td>
                  <a class="mono" href={href('trace', r.queueId)}>
                    {r.queueId}
                  </a>
                  <div class="sub">{r.sender || '<>'}</div>
                </td>
                <td>{r.recipient}</td>
                <td>
                  <span class={`pill ${r.status === 'deferred' ? 'warn' : ''}`}>{r.status}</span>
                </td>
                <td class="num attempts">{r.attempts}</td>
                <td class="nowrap" title={formatTime(r.nextAttemptAt)}>
                  {r.nextAttemptAt ? relativeTime(r.nextAttemptAt) : 'now'}
                </td>
                <td class="reply">{r.lastReply ?? '—'}</td>
                {readOnly ? null : (
                  <td class="actions">
                    <button type="button" onClick={() => retry(r.queueId)} disabled={action.busy}>
                      Retry
                    </button>
                    <button
                      type="button"
                      class="danger"
                      onClick={() => drop(r.queueId)}
                      disabled={action.busy}
                    >
                      Drop
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Page>
  );
}
