import {
  bool,
  durationMs,
  echo,
  int,
  loginClientSettings,
  optional,
  path,
  port,
  string,
  variable,
} from '@tegami/runtime';

/** The IMAP settings, read the same way by the service's main and by the standalone. */
export function imapSettings() {
  return {
    imapHost: string('TEGAMI_IMAP_HOST'),
    imapPort: port('TEGAMI_IMAP_PORT'),
    imapsPort: port('TEGAMI_IMAPS_PORT'),
    imapIdleTimeoutMs: durationMs('TEGAMI_IMAP_IDLE_TIMEOUT', { min: 1000 }),
    imapDeadlines: loginClientSettings(),
    imapMaxConnections: int('TEGAMI_IMAP_MAX_CONNECTIONS', { min: 1 }),
    imapMaxConnectionsPerIp: int('TEGAMI_IMAP_MAX_CONNECTIONS_PER_IP', { min: 1 }),
    imapMaxConnectionsPerUser: int('TEGAMI_IMAP_MAX_CONNECTIONS_PER_USER', { min: 1 }),
    imapAllowPlaintextAuth: bool('TEGAMI_IMAP_ALLOW_PLAINTEXT_AUTH'),
    imapMaxMessageSize: int('TEGAMI_IMAP_MAX_MESSAGE_SIZE', { min: 1024 }),
    imapMaxCommandsPerSecond: int('TEGAMI_IMAP_MAX_COMMANDS_PER_SECOND', { min: 1 }),
    imapMessageCacheMiB: int('TEGAMI_IMAP_MESSAGE_CACHE_SIZE', { min: 0, max: 65_536 }),
    // ManageSieve (RFC 5804) beside IMAP: managesieve-listener.ts.
    managesievePort: port('TEGAMI_MANAGESIEVE_PORT'),
    managesieveMaxScripts: int('TEGAMI_MANAGESIEVE_MAX_SCRIPTS', { min: 1 }),
    managesieveMaxScriptSize: int('TEGAMI_MANAGESIEVE_MAX_SCRIPT_SIZE', { min: 1024, max: 64 * 1024 * 1024 }),
    // Learning from Junk (spam-learning.ts): off while the controller URL is unset.
    rspamdControllerUrl: optional(
      variable('TEGAMI_RSPAMD_CONTROLLER_URL', (value, fail) => {
        let url: URL;
        try {
          url = new URL(value);
        } catch {
          return fail(`not a URL (${echo(value)})`);
        }
        if (url.protocol !== 'http:' && url.protocol !== 'https:')
          return fail(`not an http:// or https:// URL (${echo(value)})`);
        return value;
      }),
    ),
    rspamdPasswordFile: optional(path('TEGAMI_RSPAMD_PASSWORD_FILE', { mustExist: 'file' })),
  };
}
