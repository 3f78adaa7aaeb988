import type { Stats } from '../types.js';
import { formatBytes, formatTime, Page, Problem, relativeTime, useResource } from '../ui.js';

function Tile(props: { label: string; value: string | number; detail?: string; tone?: 'warn' | 'bad' }) {
  return (
    <div class={`tile ${props.tone ?? ''}`}>
      <div class="tile-value">{props.value}</div>
      <div class="tile-label">{props.label}</div>
      {props.detail ? <div class="tile-detail">{props.detail}</div> : null}
    </div>
  );
}

/** "IMAP 12 · POP3 3": the protocols that had any, so a guesser's target shows at a glance. */
function byProtocol(
  logins: Stats['last24h']['loginsByProtocol'],
  outcome: 'ok' | 'failed',
): string | undefined {
  const parts = Object.entries(logins)
    .filter(([, n]) => n[outcome] > 0)
    .map(
      ([protocol, n]) =>
        `${protocol === 'managesieve' ? 'ManageSieve' : protocol.toUpperCase()} ${n[outcome]}`,
    );
  return parts.length > 0 ? parts.join(' · ') : undefined;
}

/** The numbers an operator looks at first; refreshed every 10 s. */
export function DashboardPage() {
  const stats = useResource<Stats>('/stats', 10_000);
  const s = stats.data;
  return (
    <Page
      title="Dashboard"
      actions={
        <button type="button" onClick={stats.reload} disabled={stats.loading}>
          Refresh
        </button>
      }
    >
      <Problem error={stats.error} />
      {s ? (
        <>
          <h2>Queue</h2>
          <div class="tiles">
            <Tile label="waiting" value={s.queue.waiting} tone={s.queue.waiting > 100 ? 'warn' : undefined} />
            <Tile
              label="deferred"
              value={s.queue.deferred}
              tone={s.queue.deferred > 0 ? 'warn' : undefined}
            />
            <Tile
              label="oldest queued"
              value={s.queue.oldestQueuedAt ? relativeTime(s.queue.oldestQueuedAt) : 'none'}
              detail={s.queue.oldestQueuedAt ? formatTime(s.queue.oldestQueuedAt) : undefined}
            />
          </div>
          <h2>Last 24 hours</h2>
          <div class="tiles">
            <Tile label="received" value={s.last24h.received} />
            <Tile label="delivered" value={s.last24h.delivered} />
            <Tile label="deferred" value={s.last24h.deferred} />
            <Tile
              label="bounced"
              value={s.last24h.bounced}
              tone={s.last24h.bounced > 0 ? 'warn' : undefined}
            />
            <Tile
              label="logins"
              value={s.last24h.loginsOk}
              detail={byProtocol(s.last24h.loginsByProtocol, 'ok')}
            />
            <Tile
              label="failed logins"
              value={s.last24h.loginsFailed}
              detail={byProtocol(s.last24h.loginsByProtocol, 'failed')}
              tone={s.last24h.loginsFailed > s.last24h.loginsOk ? 'bad' : undefined}
            />
          </div>
          <h2>Spam verdicts (24 h)</h2>
          <div class="tiles">
            <Tile label="ham" value={s.last24h.spam.ham} />
            <Tile label="spam" value={s.last24h.spam.spam} />
            <Tile label="rejected" value={s.last24h.spam.rejected} />
          </div>
          <h2>Store</h2>
          <div class="tiles">
            <Tile label="domains" value={s.domains} />
            <Tile label="users" value={s.users} />
            <Tile label="messages" value={s.messages} />
            <Tile label="stored" value={formatBytes(s.storedBytes)} />
          </div>
        </>
      ) : stats.loading ? (
        <p class="empty">Loading…</p>
      ) : null}
    </Page>
  );
}
