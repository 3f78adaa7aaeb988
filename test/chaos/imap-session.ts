import { connect, type Socket } from 'node:net';

// The chaos load's IMAP connection: it reads whole responses (literals included, RFC 3501
// §4.3), hands every untagged one to `onUntagged` as it comes, and matches tagged answers
// to commands. Anything that goes wrong with the socket (error, close, BYE, 30 s without a
// byte while a command waits) ends the connection and rejects what waits with
// ConnectionLost, never with an unhandled rejection: under chaos that is the normal case.

/** One server response: its text with each literal's bytes left out (the `{n}` stays). */
export interface ImapResponse {
  readonly text: string;
  readonly literals: readonly Buffer[];
}

export interface TaggedAnswer {
  readonly status: 'OK' | 'NO' | 'BAD';
  readonly text: string;
}

/** The connection died (or stalled) before the answer came: the outcome is unknown. */
export class ConnectionLost extends Error {
  constructor(reason: string) {
    super(`connection lost: ${reason}`);
    this.name = 'ConnectionLost';
  }
}

const READ_TIMEOUT_MS = 30_000;
const LITERAL_AT_END = /\{(\d+)\+?\}$/;

export class ImapConnection {
  /** Called for every untagged response, in order, whether a command waits or not. */
  onUntagged: (response: ImapResponse) => void = () => undefined;
  /** Capabilities from the last CAPABILITY response or [CAPABILITY …] code. */
  capabilities = new Set<string>();

  private input: Buffer = Buffer.alloc(0);
  private pending: { text: string; literals: Buffer[]; need: number } | undefined;
  private readonly tagged = new Map<string, (answer: TaggedAnswer) => void>();
  private continuation: (() => void) | undefined;
  private failures: ((error: ConnectionLost) => void)[] = [];
  private lost: ConnectionLost | undefined;
  private tagCount = 0;
  private greeted = false;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.setTimeout(READ_TIMEOUT_MS);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) => this.fail(error.message));
    socket.on('close', () => this.fail('closed'));
    socket.on('timeout', () => {
      // Only a stall while something waits is a failure; a quiet idle connection is fine.
      if (this.tagged.size > 0 || this.continuation || !this.greeted)
        this.fail(`no data for ${READ_TIMEOUT_MS} ms`);
    });
  }

  /** Connects and reads the greeting (OK or PREAUTH; BYE is a refusal). */
  static async open(host: string, port: number): Promise<ImapConnection> {
    const socket = connect({ host, port });
    const connection = new ImapConnection(socket);
    await connection.waitFor<void>((resolve) => {
      connection.onUntagged = (response) => {
        connection.noteCapabilities(response.text);
        if (/^\* (OK|PREAUTH)\b/i.test(response.text)) resolve();
        else connection.fail(`greeting ${response.text}`);
      };
    });
    connection.greeted = true;
    connection.onUntagged = () => undefined;
    return connection;
  }

  get closed(): boolean {
    return this.lost !== undefined;
  }

  /**
   * Sends `command` (without tag) and resolves with the tagged answer. With `literal`, the
   * command ends in one: LITERAL+ when advertised, otherwise a synchronising literal that
   * waits for the server's "+".
   */
  async command(command: string, literal?: Buffer): Promise<TaggedAnswer> {
    const tag = `c${++this.tagCount}`;
    const answer = this.waitFor<TaggedAnswer>((resolve) => this.tagged.set(tag, resolve));
    if (literal === undefined) {
      this.write(`${tag} ${command}\r\n`);
    } else if (this.capabilities.has('LITERAL+')) {
      this.write(
        Buffer.concat([
          Buffer.from(`${tag} ${command} {${literal.length}+}\r\n`),
          literal,
          Buffer.from('\r\n'),
        ]),
      );
    } else {
      const go = this.waitFor<void>((resolve) => {
        this.continuation = resolve;
      });
      this.write(`${tag} ${command} {${literal.length}}\r\n`);
      // A NO/BAD instead of "+" settles `answer`; the literal is then never sent.
      const first = await Promise.race([go.then(() => 'go' as const), answer]);
      if (first !== 'go') {
        this.continuation = undefined;
        return first;
      }
      this.write(Buffer.concat([literal, Buffer.from('\r\n')]));
    }
    return answer;
  }

  /**
   * IDLE (RFC 2177) for `ms` (or until `enough()` says so), then DONE; untagged responses
   * flow to onUntagged meanwhile.
   */
  async idle(ms: number, enough: () => boolean): Promise<TaggedAnswer> {
    const tag = `c${++this.tagCount}`;
    const answer = this.waitFor<TaggedAnswer>((resolve) => this.tagged.set(tag, resolve));
    const go = this.waitFor<void>((resolve) => {
      this.continuation = resolve;
    });
    this.write(`${tag} IDLE\r\n`);
    const first = await Promise.race([go.then(() => 'go' as const), answer]);
    if (first !== 'go') {
      this.continuation = undefined;
      return first;
    }
    const until = Date.now() + ms;
    let settled = false;
    answer.then(
      () => {
        settled = true;
      },
      () => undefined,
    );
    while (!settled && !this.closed && !enough() && Date.now() < until) {
      await Promise.race([
        new Promise((resolve) => setTimeout(resolve, Math.min(100, until - Date.now()))),
        answer,
      ]);
    }
    if (!settled) this.write('DONE\r\n');
    return answer;
  }

  close(): void {
    this.fail('closed by the client');
    this.socket.destroy();
  }

  private write(data: string | Buffer): void {
    if (this.lost) return;
    this.socket.write(data, (error) => {
      if (error) this.fail(error.message);
    });
  }

  /** A promise settled by `arm`'s resolve, or rejected with ConnectionLost. */
  private waitFor<T>(arm: (resolve: (value: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.lost) {
        reject(this.lost);
        return;
      }
      const failure = (error: ConnectionLost) => reject(error);
      this.failures.push(failure);
      arm((value) => {
        this.failures = this.failures.filter((f) => f !== failure);
        resolve(value);
      });
    });
  }

  private fail(reason: string): void {
    if (this.lost) return;
    this.lost = new ConnectionLost(reason);
    this.socket.destroy();
    const failures = this.failures;
    this.failures = [];
    this.tagged.clear();
    this.continuation = undefined;
    for (const failure of failures) failure(this.lost);
  }

  private receive(chunk: Buffer): void {
    this.input = this.input.length === 0 ? chunk : Buffer.concat([this.input, chunk]);
    for (;;) {
      if (this.lost) return;
      if (this.pending && this.pending.need > 0) {
        if (this.input.length < this.pending.need) return;
        this.pending.literals.push(this.input.subarray(0, this.pending.need));
        this.input = this.input.subarray(this.pending.need);
        this.pending.need = 0;
      }
      const end = this.input.indexOf('\r\n');
      if (end < 0) return;
      const line = this.input.subarray(0, end).toString('latin1');
      this.input = this.input.subarray(end + 2);
      const current = this.pending ?? { text: '', literals: [], need: 0 };
      current.text += line;
      const literal = LITERAL_AT_END.exec(line);
      if (literal) {
        current.need = Number(literal[1]);
        this.pending = current;
        continue;
      }
      this.pending = undefined;
      this.dispatch({ text: current.text, literals: current.literals });
    }
  }

  private dispatch(response: ImapResponse): void {
    const { text } = response;
    if (text.startsWith('+')) {
      const go = this.continuation;
      this.continuation = undefined;
      go?.();
      return;
    }
    this.noteCapabilities(text);
    if (text.startsWith('* ')) {
      // After BYE the server closes the connection; the close is what ends it here, so
      // that LOGOUT's tagged OK, which comes between the two, is still read.
      this.onUntagged(response);
      return;
    }
    const tagged = /^(\S+) (OK|NO|BAD)\b ?(.*)$/i.exec(text);
    const resolve = tagged ? this.tagged.get(tagged[1]!) : undefined;
    if (!tagged || !resolve) {
      this.fail(`unexpected response ${text.slice(0, 200)}`);
      return;
    }
    this.tagged.delete(tagged[1]!);
    resolve({ status: tagged[2]!.toUpperCase() as TaggedAnswer['status'], text: tagged[3] ?? '' });
  }

  private noteCapabilities(text: string): void {
    const found =
      /^(?:\S+ OK \[CAPABILITY ([^\]]*)\]|\* OK \[CAPABILITY ([^\]]*)\]|\* CAPABILITY (.*))/i.exec(text);
    const list = found?.[1] ?? found?.[2] ?? found?.[3];
    if (list !== undefined) this.capabilities = new Set(list.toUpperCase().split(' '));
  }
}
