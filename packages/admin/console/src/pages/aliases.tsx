import { useState } from 'preact/hooks';
import { api, seg } from '../api.js';
import type { Alias } from '../types.js';
import { Empty, Notice, Page, Problem, useAction, useResource } from '../ui.js';

export function AliasesPage({ readOnly }: { readOnly: boolean }) {
  const aliases = useResource<{ aliases: Alias[] }>('/aliases');
  const action = useAction(aliases.reload);
  const [address, setAddress] = useState('');
  const [destinations, setDestinations] = useState('');
  const add = async (event: Event) => {
    event.preventDefault();
    const list = destinations
      .split(/[\s,]+/)
      .map((d) => d.trim())
      .filter(Boolean);
    const body = { address: address.trim(), destinations: list };
    if (await action.run(() => api('POST', '/aliases', body), `Added ${body.address}.`)) {
      setAddress('');
      setDestinations('');
    }
  };
  const remove = (alias: string) => {
    if (!confirm(`Remove the alias ${alias}?`)) return;
    void action.run(() => api('DELETE', `/aliases/${seg(alias)}`), `Removed ${alias}.`);
  };
  const list = aliases.data?.aliases ?? [];
  return (
    <Page title="Aliases">
      {readOnly ? null : (
        <form class="inline" onSubmit={add}>
          <label>
            Alias
            <input
              value={address}
              onInput={(e) => setAddress(e.currentTarget.value)}
              placeholder="sales@example.com"
              required
            />
          </label>
          <label class="wide">
            Destinations
            <input
              value={destinations}
              onInput={(e) => setDestinations(e.currentTarget.value)}
              placeholder="alice@example.com, bob@elsewhere.org"
              required
            />
          </label>
          <button type="submit" disabled={action.busy}>
            Add alias
          </button>
        </form>
      )}
      <Problem error={action.error ?? aliases.error} />
      <Notice text={action.notice} />
      {aliases.data && list.length === 0 ? <Empty>No aliases.</Empty> : null}
      {list.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th>Alias</th>
              <th>Delivers to</th>
              {readOnly ? null : <th />}
            </tr>
          </thead>
          <tbody>
            {list.map((a) => (
              <tr key={a.address}>
                <td>{a.address}</td>
                <td>
                  {a.destinations.join(', ')}
                  {a.dangling && a.dangling.length > 0 ? (
                    <div class="sub bad">
                      no such user or alias: {a.dangling.join(', ')} (mail to them bounces)
                    </div>
                  ) : null}
                </td>
                {readOnly ? null : (
                  <td class="actions">
                    <button
                      type="button"
                      class="danger"
                      onClick={() => remove(a.address)}
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
