import { useEffect, useRef, useState } from 'preact/hooks';
import { api, seg } from '../api.js';
import type { SieveScriptSummary, User } from '../types.js';
import { asApiError, Empty, formatTime, href, Notice, Page, Problem, useAction, useResource } from '../ui.js';

const NEW_SCRIPT =
  'require ["fileinto"];\n\nif header :contains "subject" "[list]" {\n  fileinto "Lists";\n}\n';

/** Sieve scripts of one user: list, edit (compiled by the server on save), activate, remove. */
export function SievePage({ readOnly, address }: { readOnly: boolean; address: string | undefined }) {
  const users = useResource<{ users: User[] }>('/users');
  return (
    <Page
      title="Sieve scripts"
      actions={
        <label class="filter">
          User
          <select
            value={address ?? ''}
            onChange={(e) => {
              location.hash = href('sieve', e.currentTarget.value);
            }}
          >
            <option value="" disabled>
              choose…
            </option>
            {(users.data?.users ?? []).map((u) => (
              <option key={u.address} value={u.address}>
                {u.address}
              </option>
            ))}
          </select>
        </label>
      }
    >
      <Problem error={users.error} />
      {address ? (
        <UserScripts key={address} address={address} readOnly={readOnly} />
      ) : (
        <Empty>Choose a user.</Empty>
      )}
    </Page>
  );
}

function UserScripts({ address, readOnly }: { address: string; readOnly: boolean }) {
  const base = `/users/${seg(address)}`;
  const scripts = useResource<{ scripts: SieveScriptSummary[] }>(`${base}/sieve`);
  const action = useAction(scripts.reload);
  const [open, setOpen] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  // Said here, not in the editor: saving a new script swaps its editor for the stored one's.
  const [saved, setSaved] = useState<string | undefined>(undefined);
  const list = scripts.data?.scripts ?? [];
  const activate = (name: string | null) => {
    setSaved(undefined);
    return action.run(
      () => api('PUT', `${base}/sieve-active`, { name }),
      name ? `${name} is now the active script.` : 'No script is active now.',
    );
  };
  const remove = (name: string) => {
    if (!confirm(`Remove the script ${name}?`)) return;
    setSaved(undefined);
    void action
      .run(() => api('DELETE', `${base}/sieve/${seg(name)}`), `Removed ${name}.`)
      .then((ok) => {
        if (ok && open === name) setOpen(null);
      });
  };
  return (
    <>
      <Problem error={action.error ?? scripts.error} />
      <Notice text={action.notice ?? saved} />
      {scripts.data && list.length === 0 ? <Empty>{address} has no Sieve scripts.</Empty> : null}
      {list.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th>Script</th>
              <th>State</th>
              <th>Changed</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((s) => (
              <tr key={s.name}>
                <td>
                  <button type="button" class="link" onClick={() => setOpen(s.name)}>
                    {s.name}
                  </button>
                </td>
                <td>{s.active ? <span class="pill ok">active</span> : <span class="pill">inactive</span>}</td>
                <td>{formatTime(s.updatedAt)}</td>
                <td class="actions">
                  {readOnly ? null : s.active ? (
                    <button type="button" onClick={() => activate(null)} disabled={action.busy}>
                      Deactivate
                    </button>
                  ) : (
                    <button type="button" onClick={() => activate(s.name)} disabled={action.busy}>
                      Activate
                    </button>
                  )}
                  {readOnly ? null : (
                    <button
                      type="button"
                      class="danger"
                      onClick={() => remove(s.name)}
                      disabled={action.busy}
                    >
                      Remove
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {readOnly || creating ? null : (
        <button
          type="button"
          onClick={() => {
            setCreating(true);
            setOpen(null);
          }}
        >
          New script
        </button>
      )}
      {creating ? (
        <ScriptEditor
          base={base}
          readOnly={readOnly}
          onSaved={(name) => {
            setCreating(false);
            setOpen(name);
            setSaved(`Saved ${name}.`);
            scripts.reload();
          }}
          onClose={() => setCreating(false)}
        />
      ) : open ? (
        <ScriptEditor
          key={open}
          base={base}
          name={open}
          readOnly={readOnly}
          onSaved={(name) => {
            setSaved(`Saved ${name}.`);
            scripts.reload();
          }}
          onClose={() => setOpen(null)}
        />
      ) : null}
    </>
  );
}

function ScriptEditor(props: {
  base: string;
  name?: string;
  readOnly: boolean;
  onSaved(name: string): void;
  onClose(): void;
}) {
  const [name, setName] = useState(props.name ?? '');
  const [content, setContent] = useState<string | null>(props.name ? null : NEW_SCRIPT);
  const action = useAction();
  const [loadProblem, setLoadProblem] = useState<ReturnType<typeof asApiError> | undefined>(undefined);
  useEffect(() => {
    if (!props.name) return;
    api<{ content: string }>('GET', `${props.base}/sieve/${seg(props.name)}`)
      .then((script) => setContent(script.content))
      .catch((e: unknown) => setLoadProblem(asApiError(e)));
  }, [props.base, props.name]);
  const textarea = useRef<HTMLTextAreaElement>(null);
  // A compile error names its line and column: put the cursor there.
  useEffect(() => {
    const at = action.error?.at;
    const area = textarea.current;
    if (!at || !area) return;
    const lines = area.value.split('\n');
    const offset =
      lines.slice(0, at.line - 1).reduce((sum, line) => sum + line.length + 1, 0) +
      Math.max(0, at.column - 1);
    area.focus();
    area.setSelectionRange(offset, Math.min(area.value.length, offset + 1));
  }, [action.error]);
  const save = async (event: Event) => {
    event.preventDefault();
    const target = name.trim();
    if (
      await action.run(
        () => api('PUT', `${props.base}/sieve/${seg(target)}`, { content }),
        `Saved ${target}.`,
      )
    )
      props.onSaved(target);
  };
  return (
    <form class="card sieve-editor" onSubmit={save}>
      <header class="card-head">
        {props.name ? (
          <h2>{props.name}</h2>
        ) : (
          <label>
            Script name
            <input value={name} onInput={(e) => setName(e.currentTarget.value)} required />
          </label>
        )}
        <button type="button" class="link" onClick={props.onClose}>
          Close
        </button>
      </header>
      <Problem error={loadProblem} />
      {content === null ? (
        <p class="empty">Loading…</p>
      ) : (
        <textarea
          ref={textarea}
          aria-label="Sieve script"
          spellcheck={false}
          rows={16}
          value={content}
          readOnly={props.readOnly}
          onInput={(e) => setContent(e.currentTarget.value)}
        />
      )}
      <Problem error={action.error} />
      {props.readOnly ? null : (
        <button type="submit" disabled={action.busy || content === null}>
          Save
        </button>
      )}
    </form>
  );
}
