import type { DkimKey } from './dkim-keys.js';
import { runIndependent } from './python-runner.js';

export type DkimSigningAlgorithm = 'rsa-sha256' | 'rsa-sha1' | 'ed25519-sha256';
export type DkimCanonicalization = 'simple/simple' | 'simple/relaxed' | 'relaxed/simple' | 'relaxed/relaxed';

export interface DkimSignOptions {
  /** d= */
  readonly domain: string;
  /** s=: the key is published at `<selector>._domainkey.<domain>`. */
  readonly selector: string;
  readonly key: DkimKey;
  /** Default: rsa-sha256 for an rsa key, ed25519-sha256 (RFC 8463) for an ed25519 key. */
  readonly algorithm?: DkimSigningAlgorithm;
  /** h=, in order; default dkimpy's list (From, To, Subject, Date, Message-ID, … present in the message, From twice). */
  readonly headers?: readonly string[];
  /** c=; default dkimpy's relaxed/simple. */
  readonly canonicalization?: DkimCanonicalization;
  /** i=; default `@<domain>`. */
  readonly identity?: string;
  /** Sign the body length (l=), so that text appended after signing still verifies. */
  readonly bodyLength?: boolean;
}

/**
 * The message signed by dkimpy (python3-dkim), an implementation independent of Tegami's:
 * its DKIM-Signature prepended to the unchanged bytes. Give CRLF messages, as on the wire.
 */
export async function dkimSign(message: Buffer, options: DkimSignOptions): Promise<Buffer> {
  const algorithm = options.algorithm ?? (options.key.algorithm === 'rsa' ? 'rsa-sha256' : 'ed25519-sha256');
  if (algorithm.startsWith('rsa') !== (options.key.algorithm === 'rsa')) {
    throw new Error(`a ${options.key.algorithm} key cannot sign ${algorithm}`);
  }
  const { headers } = await runIndependent<{ headers: string[] }>({
    op: 'dkim-sign',
    message: message.toString('base64'),
    domain: options.domain,
    selector: options.selector,
    privateKey: options.key.privateKeyForDkimpy,
    algorithm,
    canonicalization: options.canonicalization ?? 'relaxed/simple',
    headers: options.headers ?? null,
    identity: options.identity ?? null,
    bodyLength: options.bodyLength ?? false,
  });
  return Buffer.concat([...headers.map((h) => Buffer.from(h, 'base64')), message]);
}

export interface ArcSignOptions {
  /** d= of the ARC-Message-Signature and ARC-Seal. */
  readonly domain: string;
  readonly selector: string;
  /** An rsa key: ARC signs with rsa-sha256 only (RFC 8617 §4.1.3), and so does dkimpy's arc_sign. */
  readonly key: DkimKey;
  /**
   * The authserv-id of the sealer. dkimpy seals the message's `Authentication-Results`
   * header fields that carry this authserv-id (copied into ARC-Authentication-Results, its
   * `arc=` result becoming the seal's cv=): the message MUST have at least one, spelled
   * exactly `Authentication-Results` (dkimpy compares the field name case-sensitively),
   * with `arc=pass`/`arc=fail` in it when it already carries an ARC chain. Without one,
   * dkimpy adds nothing and this function throws.
   */
  readonly srvId: string;
  /** h= of the ARC-Message-Signature; default dkimpy's list. */
  readonly headers?: readonly string[];
  /** t= in seconds since the epoch; default now. */
  readonly timestamp?: number;
}

/**
 * The message with one more ARC set (ARC-Seal, ARC-Message-Signature,
 * ARC-Authentication-Results; RFC 8617) prepended by dkimpy, as a forwarder would add it.
 */
export async function arcSign(message: Buffer, options: ArcSignOptions): Promise<Buffer> {
  if (options.key.algorithm !== 'rsa')
    throw new Error('ARC sets are signed with rsa-sha256: give an rsa key');
  const { headers } = await runIndependent<{ headers: string[] }>({
    op: 'arc-sign',
    message: message.toString('base64'),
    domain: options.domain,
    selector: options.selector,
    privateKey: options.key.privateKeyForDkimpy,
    srvId: options.srvId,
    headers: options.headers ?? null,
    timestamp: options.timestamp ?? null,
  });
  if (headers.length === 0) {
    throw new Error(
      `dkimpy added no ARC set: the message needs an "Authentication-Results: ${options.srvId}; …" header field (and arc= in it when it already has a chain)`,
    );
  }
  return Buffer.concat([...headers.map((h) => Buffer.from(h, 'base64')), message]);
}
