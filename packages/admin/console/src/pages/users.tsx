import { useState } from 'preact/hooks';
import { api, seg } from '../api.js';
import type { Domain, User } from '../types.js';
import {
  Empty,
  formatBytes,
  formatTime,
  href,
  Notice,
  Page,
  Problem,
  parseBytes,
  UsageBar,
  useAction,
  useResource,
} from '../ui.js';

export function UsersPage({ readOnly, domain }: { readOnly: boolean; domain: string | undefined }) {
  const domains = useResource<{ domains: Domain[] }>('/domains');
  const users = useResource<{ users: User[] }>(
    domain ? `/users?domain=${encodeURIComponent(domain)}` : '/users',
  );
  const [editing, setEditing] = useState<string | null>(null);
  const list = users.data?.users ?? [];
  return (
    <Page
      title="Users"
      actions={
        <label class="filter">
          Domain
          <select
            value={domain ?? ''}
            onChange={(e) => {
              const value = e.currentTarget.value;
              location.hash = value ? href('users', value) : href('users');
            }}
          >
            <option value="">all</option>
            {(domains.data?.domains ?? []).map((d) => (
              <option key={d.name} value={d.name}>
                {d.name}
              </option>
            ))}
          </select>
        </label>
      }
    >
      {readOnly ? null : (
        <NewUser domains={domains.data?.domains ?? []} defaultDomain={domain} onAdded={users.reload} />
      )}
      <Problem error={users.error} />
      {users.data && list.length === 0 ? <Empty>No users{domain ? ` in ${domain}` : ''}.</Empty> : null}
      {list.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th>Address</th>
              <th>State</th>
              <th>Quota and usage</th>
              <th class="num">Messages</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((u) => [
              <tr key={u.address} class={u.disabled ? 'muted' : undefined}>
                <td>{u.address}</td>
                <td>
                  {u.disabled ? <span class="pill bad">disabled</span> : <span class="pill ok">active</span>}
                </td>
                <td>
                  <UsageBar used={u.usedBytes} quota={u.quotaBytes} />
                </td>
                <td class="num">{u.messages}</td>
                <td>{formatTime(u.createdAt)}</td>
                <td class="actions">
                  <a href={href('sieve', u.address)}>Sieve</a>
                  {readOnly ? null : (
                    <button
                      type="button"
                      aria-expanded={editing === u.address}
                      aria-label={`Manage ${u.address}`}
                      onClick={() => setEditing(editing === u.address ? null : u.address)}
                    >
                      Manage
                    </button>
                  )}
                </td>
              </tr>,
              editing === u.address ? (
                <tr key={`${u.address} edit`} class="editor-row">
                  <td colSpan={6}>
                    <UserEditor
                      user={u}
                      onChanged={users.reload}
                      onRemoved={() => {
                        setEditing(null);
                        users.reload();
                      }}
                    />
                  </td>
                </tr>
              ) : null,
            ])}
          </tbody>
        </table>
      ) : null}
    </Page>
  );
}

function NewUser(props: { domains: readonly Domain[]; defaultDomain: string | undefined; onAdded(): void }) {
  const action = useAction(props.onAdded);
  const [address, setAddress] = useState('');
  const [password, setPassword] = useState('');
  const [quota, setQuota] = useState('');
  const [quotaProblem, setQuotaProblem] = useState<string | undefined>(undefined);
  const add = async (event: Event) => {
    event.preventDefault();
    const quotaBytes = parseBytes(quota);
    if (quotaBytes === undefined) {
      setQuotaProblem('A quota is a size such as 500M or 2G, or empty for none.');
      return;
    }
    setQuotaProblem(undefined);
    const full =
      address.includes('@') || !props.defaultDomain
        ? address.trim()
        : `${address.trim()}@${props.defaultDomain}`;
    const body = { address: full, password, ...(quotaBytes !== null && { quotaBytes }) };
    if (await action.run(() => api('POST', '/users', body), `Added ${full}.`)) {
      setAddress('');
      setPassword('');
      setQuota('');
    }
  };
  return (
    <form class="inline" onSubmit={add}>
      <label>
        Address
        <input
          value={address}
          onInput={(e) => setAddress(e.currentTarget.value)}
          placeholder={`alice@${props.defaultDomain ?? props.domains[0]?.name ?? 'example.com'}`}
          required
          autocomplete="off"
        />
      </label>
      <label>
        Password
        <input
          type="password"
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
          required
          autocomplete="new-password"
        />
      </label>
      <label>
        Quota
        <input value={quota} onInput={(e) => setQuota(e.currentTarget.value)} placeholder="none" size={8} />
      </label>
      <button type="submit" disabled={action.busy}>
        Add user
      </button>
      {quotaProblem ? <p class="problem">{quotaProblem}</p> : null}
      <Problem error={action.error} />
      <Notice text={action.notice} />
    </form>
  );
}

function UserEditor(props: { user: User; onChanged(): void; onRemoved(): void }) {
  const { user } = props;
  const path = `/users/${seg(user.address)}`;
  const action = useAction(props.onChanged);
  const [password, setPassword] = useState('');
  const [quota, setQuota] = useState(
    user.quotaBytes === null ? '' : formatBytes(user.quotaBytes).replace(' ', ''),
  );
  const [quotaProblem, setQuotaProblem] = useState<string | undefined>(undefined);
  const setNewPassword = async (event: Event) => {
    event.preventDefault();
    if (await action.run(() => api('PUT', `${path}/password`, { password }), 'Password changed.'))
      setPassword('');
  };
  const setNewQuota = async (event: Event) => {
    event.preventDefault();
    const quotaBytes = parseBytes(quota);
    if (quotaBytes === undefined) {
      setQuotaProblem('A quota is a size such as 500M or 2G, or empty for none.');
      return;
    }
    setQuotaProblem(undefined);
    await action.run(
      () => api('PUT', `${path}/quota`, { quotaBytes }),
      quotaBytes === null ? 'Quota removed.' : `Quota set to ${formatBytes(quotaBytes)}.`,
    );
  };
  const remove = async () => {
    if (!confirm(`Remove ${user.address} and all of its mail? This cannot be undone.`)) return;
    if (await action.run(() => api('DELETE', path))) props.onRemoved();
  };
  return (
    <div class="editor">
      <form class="inline" onSubmit={setNewPassword}>
        <label>
          New password
          <input
            type="password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
            required
            autocomplete="new-password"
          />
        </label>
        <button type="submit" disabled={action.busy}>
          Set password
        </button>
      </form>
      <form class="inline" onSubmit={setNewQuota}>
        <label>
          Quota
          <input value={quota} onInput={(e) => setQuota(e.currentTarget.value)} placeholder="none" size={8} />
        </label>
        <button type="submit" disabled={action.busy}>
          Set quota
        </button>
      </form>
      <div class="inline">
        <button
          type="button"
          disabled={action.busy}
          onClick={() =>
            action.run(
              () => api('PUT', `${path}/disabled`, { disabled: !user.disabled }),
              user.disabled ? 'Enabled.' : 'Disabled: it can no longer log in.',
            )
          }
        >
          {user.disabled ? 'Enable' : 'Disable'}
        </button>
        <button type="button" class="danger" disabled={action.busy} onClick={remove}>
          Remove user
        </button>
      </div>
      {quotaProblem ? <p class="problem">{quotaProblem}</p> : null}
      <Problem error={action.error} />
      <Notice text={action.notice} />
    </div>
  );
}
