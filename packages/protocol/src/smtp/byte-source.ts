/**
 * Where a protocol engine's bytes come from: the service adapts its socket (or TLS socket)
 * to this, tests feed arrays of chunks split anywhere. `null` is the end of the stream.
 * A read that takes too long rejects with ReadTimeout (the service's choice of clock).
 */
export interface ByteSource {
  read(timeoutMs: number): Promise<Buffer | null>;
}

export class ReadTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no data for ${timeoutMs} ms`);
  }
}

/** A ByteSource over fixed chunks, for tests. */
export function chunksSource(chunks: readonly (string | Buffer)[]): ByteSource {
  const queue = chunks.map((chunk) => (typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk));
  return { read: async () => queue.shift() ?? null };
}
