import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, onUnauthorized, storedToken, storeToken } from './api.js';
import { AliasesPage } from './pages/aliases.js';
import { AuditPage } from './pages/audit.js';
import { DashboardPage } from './pages/dashboard.js';
import { DkimPage } from './pages/dkim.js';
import { DomainsPage } from './pages/domains.js';
import { QueuePage } from './pages/queue.js';
import { SievePage } from './pages/sieve.js';
import { TracePage } from './pages/trace.js';
import { UsersPage } from './pages/users.js';
import type { WhoAmI } from './types.js';
import { asApiError, Problem } from './ui.js';

const NAV = [
  ['dashboard', 'Dashboard'],
  ['domains', 'Domains'],
  ['users', 'Users'],
  ['aliases', 'Aliases'],
  ['dkim', 'DKIM'],
  ['sieve', 'Sieve'],
  ['queue', 'Queue'],
  ['audit', 'Audit'],
] as const;

/** The route is the URL's fragment, `#/trace/<key>`: the server serves one index.html. */
function currentRoute(): string[] {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  return parts.length > 0 ? parts : ['dashboard'];
}

export function App() {
  const [me, setMe] = useState<WhoAmI | null>(null);
  const [loginProblem, setLoginProblem] = useState<ApiError | undefined>(undefined);
  const [checking, setChecking] = useState(storedToken() !== null);
  const [route, setRoute] = useState(currentRoute);

  useEffect(() => {
    const onHash = () => setRoute(currentRoute());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  useEffect(
    () =>
      onUnauthorized(() => {
        storeToken(null);
        setMe(null);
        setLoginProblem(
          new ApiError(401, 'unauthorized', 'The token was refused (revoked?): sign in again.'),
        );
      }),
    [],
  );

  // A token kept from earlier in this tab: check it is still good.
  useEffect(() => {
    if (!storedToken()) return;
    api<WhoAmI>('GET', '/whoami')
      .then(setMe)
      .catch((e: unknown) => {
        storeToken(null);
        setLoginProblem(asApiError(e));
      })
      .finally(() => setChecking(false));
  }, []);

  if (checking) return <p class="empty">Checking the token…</p>;
  if (!me)
    return (
      <Login
        problem={loginProblem}
        onSignedIn={(who) => {
          setLoginProblem(undefined);
          setMe(who);
        }}
      />
    );

  const [page = 'dashboard', ...rest] = route;
  return (
    <div class="shell">
      <nav class="side" aria-label="Console">
        <div class="brand">
          Tegami <span>console</span>
        </div>
        <ul>
          {NAV.map(([id, label]) => (
            <li key={id}>
              <a
                href={`#/${id}`}
                aria-current={page === id || (page === 'trace' && id === 'queue') ? 'page' : undefined}
              >
                {label}
              </a>
            </li>
          ))}
        </ul>
        <div class="who">
          <span title="the token's name">{me.name}</span>
          <span class={`scope ${me.scope}`}>{me.scope === 'read' ? 'read-only' : 'full access'}</span>
          <button
            type="button"
            class="link"
            onClick={() => {
              storeToken(null);
              setMe(null);
            }}
          >
            Sign out
          </button>
        </div>
      </nav>
      <main>
        <Route page={page} rest={rest} readOnly={me.scope === 'read'} />
      </main>
    </div>
  );
}

function Route({ page, rest, readOnly }: { page: string; rest: string[]; readOnly: boolean }) {
  switch (page) {
    case 'dashboard':
      return <DashboardPage />;
    case 'domains':
      return <DomainsPage readOnly={readOnly} />;
    case 'users':
      return <UsersPage readOnly={readOnly} domain={rest[0]} />;
    case 'aliases':
      return <AliasesPage readOnly={readOnly} />;
    case 'dkim':
      return <DkimPage readOnly={readOnly} />;
    case 'sieve':
      return <SievePage readOnly={readOnly} address={rest[0]} />;
    case 'queue':
      return <QueuePage readOnly={readOnly} />;
    case 'trace':
      return <TracePage traceKey={rest.join('/')} />;
    case 'audit':
      return <AuditPage />;
    default:
      return <p class="empty">No page here. Pick one on the left.</p>;
  }
}

function Login(props: { problem: ApiError | undefined; onSignedIn(me: WhoAmI): void }) {
  const [token, setToken] = useState('');
  const [problem, setProblem] = useState<ApiError | undefined>(props.problem);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const value = token.trim();
    if (!/^tgm_[A-Za-z0-9_-]{20,}$/.test(value)) {
      setProblem(
        new ApiError(0, '', 'That is not an admin token: they look like tgm_ and 43 more characters.'),
      );
      return;
    }
    setBusy(true);
    storeToken(value);
    try {
      props.onSignedIn(await api<WhoAmI>('GET', '/whoami'));
    } catch (e) {
      storeToken(null);
      setProblem(asApiError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="login" onSubmit={submit}>
      <h1>
        Tegami <span>console</span>
      </h1>
      <label>
        Admin token
        <input
          type="password"
          name="token"
          autocomplete="off"
          spellcheck={false}
          placeholder="tgm_…"
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
        />
      </label>
      <p class="hint">
        Make one with <code>tegami admin token create &lt;name&gt;</code>. It is kept in this tab only.
      </p>
      <Problem error={problem} />
      <button type="submit" disabled={busy}>
        Sign in
      </button>
    </form>
  );
}
