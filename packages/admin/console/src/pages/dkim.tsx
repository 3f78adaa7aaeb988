import { api, seg } from '../api.js';
import type { DkimKey, Domain } from '../types.js';
import { Empty, formatTime, Notice, Page, Problem, useAction, useResource } from '../ui.js';

export function DkimPage({ readOnly }: { readOnly: boolean }) {
  const keys = useResource<{ keys: DkimKey[] }>('/dkim');
  const local = useResource<{ domains: Domain[] }>('/domains');
  const action = useAction(keys.reload);
  const list = keys.data?.keys ?? [];
  // Every local domain, with or without keys, and any other domain that has keys.
  const domains = [
    ...new Set([...(local.data?.domains ?? []).map((d) => d.name), ...list.map((k) => k.domain)]),
  ].sort();
  const rotate = (domain: string, first: boolean) => {
    const question = first
      ? `Make a DKIM key for ${domain}? Mail is signed with it from now on: publish its DNS record.`
      : `Replace the DKIM key of ${domain}? The old one retires: keep its DNS record published for its grace period.`;
    if (!confirm(question)) return;
    void action.run(
      () => api('POST', `/dkim/${seg(domain)}/rotate`),
      `New key made for ${domain}: publish its record.`,
    );
  };
  return (
    <Page title="DKIM keys">
      <Problem error={action.error ?? keys.error} />
      <Notice text={action.notice} />
      {keys.data && local.data && domains.length === 0 ? <Empty>No domains yet.</Empty> : null}
      {domains.map((domain) => {
        const own = list.filter((k) => k.domain === domain);
        return (
          <div class="card" key={domain}>
            <header class="card-head">
              <h2>{domain}</h2>
              {readOnly ? null : (
                <button
                  type="button"
                  aria-label={`${own.length === 0 ? 'Make a key for' : 'Rotate the keys of'} ${domain}`}
                  onClick={() => rotate(domain, own.length === 0)}
                  disabled={action.busy}
                >
                  {own.length === 0 ? 'Make a key' : 'Rotate'}
                </button>
              )}
            </header>
            {own.length === 0 ? (
              <p class="empty">No key: mail from {domain} is not signed.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th>Selector</th>
                    <th>Algorithm</th>
                    <th>State</th>
                    <th>Created</th>
                    <th>DNS record</th>
                  </tr>
                </thead>
                <tbody>
                  {own.map((k) => (
                    <tr key={k.selector}>
                      <td>{k.selector}</td>
                      <td>{k.algorithm}</td>
                      <td>
                        <span class={`pill ${k.state === 'active' ? 'ok' : ''}`}>{k.state}</span>
                        {k.retireUntil ? (
                          <div class="sub">publish until {formatTime(k.retireUntil)}</div>
                        ) : null}
                      </td>
                      <td>{formatTime(k.createdAt)}</td>
                      <td>
                        <div class="mono">{k.dnsName} TXT</div>
                        <code class="record">{k.dnsValue}</code>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        );
      })}
    </Page>
  );
}
