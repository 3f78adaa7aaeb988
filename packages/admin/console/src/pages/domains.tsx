import { useState } from 'preact/hooks';
import { api, seg } from '../api.js';
import type { Domain } from '../types.js';
import { Empty, formatTime, href, Notice, Page, Problem, useAction, useResource } from '../ui.js';

export function DomainsPage({ readOnly }: { readOnly: boolean }) {
  const domains = useResource<{ domains: Domain[] }>('/domains');
  const action = useAction(domains.reload);
  const [name, setName] = useState('');
  const add = async (event: Event) => {
    event.preventDefault();
    const domain = name.trim().toLowerCase();
    if (await action.run(() => api('POST', '/domains', { name: domain }), `Added ${domain}.`)) setName('');
  };
  const remove = (domain: string) => {
    if (!confirm(`Remove ${domain}? Its users and aliases must be gone first.`)) return;
    void action.run(() => api('DELETE', `/domains/${seg(domain)}`), `Removed ${domain}.`);
  };
  return (
    <Page title="Domains">
      {readOnly ? null : (
        <form class="inline" onSubmit={add}>
          <label>
            Domain name
            <input
              value={name}
              onInput={(e) => setName(e.currentTarget.value)}
              placeholder="example.com"
              required
            />
          </label>
          <button type="submit" disabled={action.busy}>
            Add domain
          </button>
        </form>
      )}
      <Problem error={action.error ?? domains.error} />
      <Notice text={action.notice} />
      {domains.data && domains.data.domains.length === 0 ? <Empty>No domains yet.</Empty> : null}
      {domains.data && domains.data.domains.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th>Domain</th>
              <th class="num">Users</th>
              <th class="num">Aliases</th>
              <th>Plus addressing</th>
              <th>Created</th>
              {readOnly ? null : <th />}
            </tr>
          </thead>
          <tbody>
            {domains.data.domains.map((d) => (
              <tr key={d.name}>
                <td>
                  <a href={href('users', d.name)}>{d.name}</a>
                </td>
                <td class="num">{d.users}</td>
                <td class="num">{d.aliases}</td>
                <td>{d.plusAddressing ? 'on' : 'off'}</td>
                <td>{formatTime(d.createdAt)}</td>
                {readOnly ? null : (
                  <td class="actions">
                    <button
                      type="button"
                      class="danger"
                      onClick={() => remove(d.name)}
                      disabled={action.busy}
                    >
                      Remove
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
