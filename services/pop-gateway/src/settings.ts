import { bool, durationMs, int, loginClientSettings, optional, port, string } from '@tegami/runtime';

/** The POP3 settings, read the same way by the service's main and by the standalone. */
export function popSettings() {
  return {
    popHost: string('TEGAMI_POP_HOST'),
    popPort: port('TEGAMI_POP_PORT'),
    popsPort: port('TEGAMI_POPS_PORT'),
    popIdleTimeoutMs: durationMs('TEGAMI_POP_IDLE_TIMEOUT_MS', { min: 1000 }),
    popDeadlines: loginClientSettings(),
    popMaxConnections: int('TEGAMI_POP_MAX_CONNECTIONS', { min: 1 }),
    popMaxConnectionsPerIp: int('TEGAMI_POP_MAX_CONNECTIONS_PER_IP', { min: 1 }),
    popAllowPlaintextAuth: bool('TEGAMI_POP_ALLOW_PLAINTEXT_AUTH'),
    popLoginDelayMs: optional(durationMs('TEGAMI_POP_LOGIN_DELAY', { min: 1000 })),
    popBeforeSmtpTtlMs: optional(durationMs('TEGAMI_POP_BEFORE_SMTP_TTL', { min: 1000 })),
  };
}
