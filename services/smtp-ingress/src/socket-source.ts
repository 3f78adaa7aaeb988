import type { Socket } from 'node:net';
import { type ByteSource, ReadTimeout } from '@tegami/protocol';

// Above this much unread input the socket is paused: a client cannot make us buffer a
// whole pipelined message before we have read the command in front of it.
const HIGH_WATER_BYTES = 256 * 1024;

/** The protocol engine's view of a socket: pull one chunk at a time, with a timeout. */
export class SocketSource implements ByteSource {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private waiter: (() => void) | undefined;
  private readonly onData = (chunk: Buffer) => {
    this.queue.push(chunk);
    this.queued += chunk.length;
    if (this.queued > HIGH_WATER_BYTES) this.socket.pause();
    this.wake();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.wake();
  };

  constructor(private readonly socket: Socket) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onEnd);
  }

  async read(timeoutMs: number): Promise<Buffer | null> {
    for (;;) {
      const chunk = this.queue.shift();
      if (chunk) {
        this.queued -= chunk.length;
        if (this.queued <= HIGH_WATER_BYTES && this.socket.isPaused()) this.socket.resume();
        return chunk;
      }
      if (this.ended) return null;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.waiter = undefined;
          reject(new ReadTimeout(timeoutMs));
        }, timeoutMs);
        this.waiter = () => {
          clearTimeout(timer);
          this.waiter = undefined;
          resolve();
        };
      });
    }
  }

  /** Stops reading from the socket (before a TLS handshake takes it over). */
  detach(): void {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    this.socket.off('error', this.onEnd);
    this.queue.length = 0;
    this.queued = 0;
  }

  private wake(): void {
    this.waiter?.();
  }
}
