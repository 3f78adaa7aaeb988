import { bool, int, oneOf, optional, port, type Reader, string, variable } from './read.js';

// The MTA-STS policy this installation publishes for its domains (RFC 8461), read alike by
// smtp-ingress (which serves it), the standalone and the CLI (which prints the TXT record
// that announces it): the three must agree on the text, since the record's id derives from it.

export interface MtaStsPublication {
  readonly mode: 'enforce' | 'testing' | 'none';
  /** MX host patterns (a host name, or `*.` and a domain), lower case. */
  readonly mx: readonly string[];
  /** Seconds. */
  readonly maxAge: number;
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

function isMxPattern(pattern: string): boolean {
  const name = pattern.startsWith('*.') ? pattern.slice(2) : pattern;
  return name.length <= 253 && name.split('.').every((label) => LABEL.test(label));
}

/** TEGAMI_MTA_STS_MODE, TEGAMI_MTA_STS_MX (default: TEGAMI_HOSTNAME) and TEGAMI_MTA_STS_MAX_AGE. */
export function mtaStsPublicationSettings(): Reader<MtaStsPublication> {
  const mode = oneOf('TEGAMI_MTA_STS_MODE', ['enforce', 'testing', 'none']);
  const mx = optional(
    variable('TEGAMI_MTA_STS_MX', (value, fail) => {
      const patterns = value
        .split(/[\s,]+/)
        .map((p) => p.toLowerCase().replace(/\.$/, ''))
        .filter(Boolean);
      for (const pattern of patterns) {
        if (!isMxPattern(pattern)) fail(`"${pattern}" is not a host name or *.domain`);
      }
      return patterns;
    }),
  );
  const hostname = string('TEGAMI_HOSTNAME');
  // RFC 8461 §3.2: max_age is at most 31557600 seconds.
  const maxAge = int('TEGAMI_MTA_STS_MAX_AGE', { min: 60, max: 31_557_600 });
  return {
    variables: [...mode.variables, ...mx.variables, ...hostname.variables, ...maxAge.variables],
    read(lookup) {
      const listed = mx.read(lookup);
      return {
        mode: mode.read(lookup),
        mx: listed && listed.length > 0 ? listed : [hostname.read(lookup).toLowerCase().replace(/\.$/, '')],
        maxAge: maxAge.read(lookup),
      };
    },
  };
}

/** The policy listener of smtp-ingress: its port (unset: none), and whether it speaks HTTPS itself. */
export function mtaStsListenerSettings() {
  return {
    mtaStsPort: optional(port('TEGAMI_MTA_STS_PORT')),
    mtaStsTls: bool('TEGAMI_MTA_STS_TLS'),
  };
}
