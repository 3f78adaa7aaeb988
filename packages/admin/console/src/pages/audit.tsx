import type { AuditEntry } from '../types.js';
import { Empty, formatTime, Page, Problem, useResource } from '../ui.js';

export function AuditPage() {
  const audit = useResource<{ entries: AuditEntry[] }>('/audit?limit=200');
  const list = audit.data?.entries ?? [];
  return (
    <Page
      title="Audit log"
      actions={
        <button type="button" onClick={audit.reload} disabled={audit.loading}>
          Refresh
        </button>
      }
    >
      <Problem error={audit.error} />
      {audit.data && list.length === 0 ? <Empty>No changes recorded yet.</Empty> : null}
      {list.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th>When</th>
              <th>Token</th>
              <th>Change</th>
              <th>Target</th>
              <th class="num">Status</th>
            </tr>
          </thead>
          <tbody>
            {list.map((e, i) => (
              <tr key={e.id ?? i} class={e.status >= 400 ? 'refused' : undefined}>
                <td>{formatTime(e.at)}</td>
                <td>{e.token ?? '—'}</td>
                <td class="mono">
                  {e.method} {e.route.replace(/^\/api\/v1/, '')}
                </td>
                <td>{e.target ?? '—'}</td>
                <td class="num">{e.status}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Page>
  );
}
