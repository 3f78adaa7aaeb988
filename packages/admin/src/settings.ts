import { ConfigError, int, optional, port, type Reader, string, tlsFiles } from '@tegami/runtime';
import type { RateLimit } from './rate-limit.js';

/** The admin listener's settings (TEGAMI_ADMIN_*): undefined when TEGAMI_ADMIN_PORT is unset. */
export interface AdminListenerSettings {
  readonly host: string;
  readonly port: number;
  readonly tls?: { readonly certFile: string; readonly keyFile: string } | undefined;
  readonly bodyLimit: number;
  readonly readLimit: RateLimit;
  readonly writeLimit: RateLimit;
}

/**
 * One key (`admin`) for all of them, so the standalone can spread it beside every service's
 * settings without a clash. The delivery-worker has no default port (no listener unless set);
 * the standalone's catalogue default is 18081 on loopback.
 */
export function adminSettings(): { admin: Reader<AdminListenerSettings | undefined> } {
  const readers = {
    port: optional(port('TEGAMI_ADMIN_PORT')),
    host: string('TEGAMI_ADMIN_HOST'),
    tls: tlsFiles('TEGAMI_ADMIN_TLS_CERT_FILE', 'TEGAMI_ADMIN_TLS_KEY_FILE'),
    bodyLimit: int('TEGAMI_ADMIN_BODY_LIMIT', { min: 1024, max: 64 * 1024 * 1024 }),
    read: int('TEGAMI_ADMIN_RATE_LIMIT_READ', { min: 1, max: 1_000_000 }),
    readBurst: int('TEGAMI_ADMIN_RATE_LIMIT_READ_BURST', { min: 1, max: 1_000_000 }),
    write: int('TEGAMI_ADMIN_RATE_LIMIT_WRITE', { min: 1, max: 1_000_000 }),
    writeBurst: int('TEGAMI_ADMIN_RATE_LIMIT_WRITE_BURST', { min: 1, max: 1_000_000 }),
  };
  return {
    admin: {
      variables: Object.values(readers).flatMap((r) => r.variables),
      read(lookup) {
        const listenPort = readers.port.read(lookup);
        const tls = readers.tls.read(lookup);
        if (listenPort === undefined) {
          if (tls) throw new ConfigError('TEGAMI_ADMIN_PORT', 'not set, but TEGAMI_ADMIN_TLS_CERT_FILE is');
          return undefined;
        }
        return {
          host: readers.host.read(lookup),
          port: listenPort,
          tls,
          bodyLimit: readers.bodyLimit.read(lookup),
          readLimit: { perSecond: readers.read.read(lookup), burst: readers.readBurst.read(lookup) },
          writeLimit: { perSecond: readers.write.read(lookup), burst: readers.writeBurst.read(lookup) },
        };
      },
    },
  };
}
