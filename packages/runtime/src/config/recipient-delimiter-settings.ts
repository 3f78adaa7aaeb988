import { variable } from './read.js';

/**
 * TEGAMI_RECIPIENT_DELIMITER, read alike by smtp-ingress (RCPT), the delivery-worker (routing,
 * Sieve's :detail) and the standalone: the characters that separate a subaddress (RFC 5233),
 * or '' when `off` turns subaddresses off.
 */
export function recipientDelimiterSettings() {
  return {
    recipientDelimiter: variable('TEGAMI_RECIPIENT_DELIMITER', (value, fail) => {
      if (value.toLowerCase() === 'off') return '';
      // What cannot be in a dot-atom local part, or would make the address another one.
      if (/[@\s"\\()<>,;:[\]]/.test(value) || value.length > 8)
        fail(
          `${JSON.stringify(value)} is not a recipient delimiter: a few characters such as + or -, or off`,
        );
      return value;
    }),
  };
}
