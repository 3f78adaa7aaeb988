import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api } from './api.js';

export interface Resource<T> {
  readonly data: T | undefined;
  readonly error: ApiError | undefined;
  readonly loading: boolean;
  reload(): void;
}

/** GETs an API path, again on reload() and every refreshMs if given; a failed refresh keeps the data. */
export function useResource<T>(path: string | null, refreshMs?: number): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [loading, setLoading] = useState(false);
  const [generation, setGeneration] = useState(0);
  // Another path is another thing: drop what the last one showed rather than show it as this.
  const shown = useRef(path);
  useEffect(() => {
    if (shown.current !== path) {
      shown.current = path;
      setData(undefined);
      setError(undefined);
    }
    if (path === null) return;
    let live = true;
    setLoading(true);
    api<T>('GET', path)
      .then((value) => {
        if (!live) return;
        setData(value);
        setError(undefined);
      })
      .catch((e: unknown) => live && setError(asApiError(e)))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [path, generation]);
  useEffect(() => {
    if (!refreshMs) return;
    const timer = setInterval(() => setGeneration((g) => g + 1), refreshMs);
    return () => clearInterval(timer);
  }, [refreshMs]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { data, error, loading, reload };
}

export function asApiError(e: unknown): ApiError {
  return e instanceof ApiError
    ? e
    : new ApiError(0, 'client_error', e instanceof Error ? e.message : String(e));
}

/**
 * Runs a change (a POST, PUT or DELETE) and says how it went: `run(() => api(...), 'Done')`
 * shows the API's error sentence on failure, a short notice on success.
 */
export function useAction(after?: () => void) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const run = useCallback(
    async (change: () => Promise<unknown>, done?: string): Promise<boolean> => {
      setBusy(true);
      setError(undefined);
      setNotice(undefined);
      try {
        await change();
        if (done) setNotice(done);
        after?.();
        return true;
      } catch (e) {
        setError(asApiError(e));
        return false;
      } finally {
        setBusy(false);
      }
    },
    [after],
  );
  return { busy, error, notice, run };
}

export function Problem({ error }: { error: ApiError | undefined }) {
  if (!error) return null;
  return (
    <p class="problem" role="alert">
      {error.message}
      {error.code && error.status ? <span class="code"> ({error.code})</span> : null}
    </p>
  );
}

export function Notice({ text }: { text: string | undefined }) {
  return text ? (
    <p class="notice" role="status">
      {text}
    </p>
  ) : null;
}

export function Page(props: { title: string; actions?: ComponentChildren; children: ComponentChildren }) {
  return (
    <section class="page">
      <header class="page-head">
        <h1>{props.title}</h1>
        <div class="page-actions">{props.actions}</div>
      </header>
      {props.children}
    </section>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/** 1536 -> "1.5 KB" (powers of 1024, as quotas are usually meant). */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = unit === 0 || value >= 100 ? String(Math.round(value)) : value.toFixed(1).replace(/\.0$/, '');
  return `${shown} ${UNITS[unit]}`;
}

/** "500M", "2 GB", "1048576" -> bytes; "" -> null (no quota); undefined when it does not parse. */
export function parseBytes(text: string): number | null | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(trimmed);
  if (!match) return undefined;
  const power = ['', 'k', 'm', 'g', 't'].indexOf(match[2]!.toLowerCase());
  return Math.round(Number(match[1]) * 1024 ** power);
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** How long ago (or until, for a future time): "3 min ago", "in 2 h". */
export function relativeTime(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const ms = new Date(iso).getTime() - now;
  if (Number.isNaN(ms)) return iso;
  const abs = Math.abs(ms);
  const text =
    abs < 60_000
      ? `${Math.round(abs / 1000)} s`
      : abs < 3_600_000
        ? `${Math.round(abs / 60_000)} min`
        : abs < 86_400_000
          ? `${Math.round(abs / 3_600_000)} h`
          : `${Math.round(abs / 86_400_000)} d`;
  return ms < 0 ? `${text} ago` : `in ${text}`;
}

export function UsageBar({ used, quota }: { used: number; quota: number | null }) {
  if (quota === null) return <span class="usage">{formatBytes(used)} (no quota)</span>;
  const share = quota === 0 ? 1 : Math.min(1, used / quota);
  const level = share >= 0.95 ? 'full' : share >= 0.8 ? 'high' : 'ok';
  return (
    <span class="usage" title={`${used} of ${quota} bytes`}>
      <span class={`bar ${level}`} aria-hidden="true">
        <span style={{ width: `${(share * 100).toFixed(1)}%` }} />
      </span>
      {formatBytes(used)} / {formatBytes(quota)}
    </span>
  );
}

/** A link inside the app: the console routes on the URL's #fragment. */
export function href(...parts: string[]): string {
  return `#/${parts.map(encodeURIComponent).join('/')}`;
}
