import { request } from 'node:https';

// RFC 8460 §5.4: a TLS report to an https: rua is the body of a POST, application/tlsrpt+gzip.
// The host name is resolved by the system's resolver (node's), not the dns-resolver: the
// HTTPS client does its own lookup and checks the certificate against that name.

export interface HttpsReportOptions {
  /** Trusted roots instead of Node's (Node's plus an operator's CA, or a test's own). */
  readonly ca?: string | Buffer | readonly (string | Buffer)[] | undefined;
  /** The whole request, connect to response (default 30 s). */
  readonly timeoutMs?: number | undefined;
}

/** Resolves with the status line's code; rejects when no response came. */
export function postTlsReport(
  url: string,
  gzipped: Buffer,
  options: HttpsReportOptions = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/tlsrpt+gzip', 'Content-Length': gzipped.length },
        ...(options.ca !== undefined && {
          ca: typeof options.ca === 'string' || Buffer.isBuffer(options.ca) ? options.ca : [...options.ca],
        }),
        timeout: options.timeoutMs ?? 30_000,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} in time`)));
    req.on('error', reject);
    req.end(gzipped);
  });
}
