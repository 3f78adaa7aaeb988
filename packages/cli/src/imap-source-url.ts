// The server `tegami import imap` copies from, as the operator names it:
// imaps://user@host[:port] (TLS from the first byte, RFC 8314) or imap://user@host[:port]
// (STARTTLS, RFC 3501 §6.2.1, required unless --insecure). The password is never part of it:
// a URL is a command-line argument, which `ps` and the shell's history show to everyone.

export interface ImapSource {
  /** imaps: TLS from the start; imap: STARTTLS. */
  readonly implicitTls: boolean;
  /** As connect() takes it: an IPv6 address without its brackets. */
  readonly host: string;
  readonly port: number;
  /** The login name, percent-decoded (`alice%40example.org` is alice@example.org). */
  readonly user: string;
  /** user@host:port: what the import's progress is remembered under. */
  readonly key: string;
  /** The URL as it is shown back: imaps://user@host:port. */
  readonly display: string;
}

export type ParsedSource =
  | { readonly ok: true; readonly source: ImapSource }
  | { readonly ok: false; readonly problem: string };

const DEFAULT_PORTS = { 'imap:': 143, 'imaps:': 993 } as const;

export function parseImapSourceUrl(text: string): ParsedSource {
  const fail = (problem: string): ParsedSource => ({ ok: false, problem });
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail(`"${text}" is not a URL: imaps://user@host[:port] or imap://user@host[:port]`);
  }
  const scheme = url.protocol;
  if (scheme !== 'imap:' && scheme !== 'imaps:')
    return fail(`the URL must start imaps:// or imap://, not ${scheme}//`);
  if (url.password !== '')
    return fail(
      'no password in the URL (the command line is visible to every user of the machine): use --password-file, TEGAMI_IMPORT_PASSWORD or the prompt',
    );
  if (url.username === '') return fail('the URL names no user: imaps://user@host');
  if (url.hostname === '') return fail('the URL names no server: imaps://user@host');
  if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '')
    return fail('the URL is the server and the login only (choose folders with --folder)');
  let user: string;
  try {
    user = decodeURIComponent(url.username);
  } catch {
    return fail('the user name in the URL is not valid percent-encoding');
  }
  const port = url.port === '' ? DEFAULT_PORTS[scheme] : Number(url.port);
  if (!(Number.isInteger(port) && port >= 1 && port <= 65535))
    return fail(`port ${url.port} is out of range`);
  // imap: is not one of the URL standard's special schemes: its host comes as typed.
  const shownHost = url.hostname.toLowerCase();
  const host = shownHost.replace(/^\[(.*)\]$/, '$1');
  return {
    ok: true,
    source: {
      implicitTls: scheme === 'imaps:',
      host,
      port,
      user,
      key: `${user}@${shownHost}:${port}`,
      display: `${scheme}//${url.username}@${shownHost}:${port}`,
    },
  };
}
