import { bool, durationMs, int, loginClientSettings, port, string } from '@tegami/runtime';

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
  };
}
