import { LineClient } from '@tegami/testing';

// A load of SMTP clients the way real MTAs behave towards a pool of MX hosts: each message
// goes to the next host in turn; a 4xx reply or a lost connection means "try again later,
// maybe elsewhere", so the message is sent again (as a new attempt) to the next host. Every
// attempt has its own Message-ID, so the test can tell exactly which acknowledged attempts
// reached a mailbox, and how often.

export interface LoadTarget {
  readonly host: string;
  readonly port: number;
}

export type AttemptOutcome =
  /** 250 after the message: acknowledged. */
  | { readonly kind: 'accepted' }
  /** An SMTP reply refusing it, with its code (4xx retryable, 5xx not). */
  | { readonly kind: 'reply'; readonly code: number; readonly text: string }
  /** No listener: the connection was refused (a load balancer would pick another host). */
  | { readonly kind: 'refused'; readonly error: string }
  /** An open session lost without a reply: reset, or closed without a word. */
  | { readonly kind: 'connection'; readonly error: string };

export interface Attempt {
  readonly id: string;
  readonly message: number;
  readonly target: number;
  readonly recipient: string;
  outcome?: AttemptOutcome;
}

export interface SmtpLoadOptions {
  readonly targets: readonly LoadTarget[];
  readonly recipients: readonly string[];
  /** Concurrent clients. */
  readonly lanes: number;
  /** Messages to get acknowledged; undefined: until stop(). */
  readonly messages?: number;
  /** Attempt ids are `<prefix>-<n>`. */
  readonly prefix: string;
}

export interface SmtpLoad {
  readonly attempts: readonly Attempt[];
  /** Messages acknowledged so far. */
  accepted(): number;
  /** Stops starting new messages; resolves when every lane has finished its current one. */
  stop(): Promise<void>;
  /** Resolves when `messages` are acknowledged (or stop() was called) and the lanes are done. */
  readonly done: Promise<void>;
}

export function startSmtpLoad(options: SmtpLoadOptions): SmtpLoad {
  const attempts: Attempt[] = [];
  let nextMessage = 0;
  let nextTarget = 0;
  let accepted = 0;
  let stopping = false;
  const retryQueue: number[] = [];

  const takeMessage = (): number | undefined => {
    if (stopping) return undefined;
    const retry = retryQueue.shift();
    if (retry !== undefined) return retry;
    if (options.messages !== undefined && nextMessage >= options.messages) return undefined;
    return nextMessage++;
  };

  const lane = async () => {
    // One open connection per target, reused while it works.
    const open = new Map<number, LineClient>();
    const connection = async (target: number): Promise<LineClient> => {
      const existing = open.get(target);
      if (existing && !existing.isClosed) return existing;
      const { host, port } = options.targets[target]!;
      const client = await LineClient.connect(port, { host });
      const greeting = await client.readReply();
      if (greeting.code !== 220) {
        client.close();
        throw new SmtpRefusal(greeting.code, greeting.text);
      }
      const ehlo = await client.command('EHLO load.test');
      if (ehlo.code !== 250) {
        client.close();
        throw new SmtpRefusal(ehlo.code, ehlo.text);
      }
      open.set(target, client);
      return client;
    };

    for (;;) {
      if (options.messages !== undefined && accepted >= options.messages) break;
      const message = takeMessage();
      if (message === undefined) {
        if (stopping) break;
        // All handed out: another lane may still fail and hand one back.
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      const target = nextTarget++ % options.targets.length;
      const recipient = options.recipients[message % options.recipients.length]!;
      const attempt: Attempt = { id: `${options.prefix}-${attempts.length}`, message, target, recipient };
      attempts.push(attempt);
      attempt.outcome = await send(await connection(target).catch((err: unknown) => err), attempt);
      if (attempt.outcome.kind === 'accepted') accepted++;
      else {
        // A 4xx or a lost connection: later, to the next host. A 5xx would be a bug here.
        open.get(target)?.close();
        open.delete(target);
        retryQueue.push(message);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    for (const client of open.values()) {
      client.write('QUIT\r\n');
      client.close();
    }
  };

  const done = Promise.all(Array.from({ length: options.lanes }, lane)).then(() => undefined);
  return {
    attempts,
    accepted: () => accepted,
    async stop() {
      stopping = true;
      await done;
    },
    done,
  };
}

class SmtpRefusal extends Error {
  constructor(
    readonly code: number,
    readonly text: string,
  ) {
    super(text);
  }
}

async function send(client: LineClient | unknown, attempt: Attempt): Promise<AttemptOutcome> {
  if (client instanceof SmtpRefusal) return { kind: 'reply', code: client.code, text: client.text };
  if (!(client instanceof LineClient)) {
    const error = String(client);
    return /ECONNREFUSED/.test(error) ? { kind: 'refused', error } : { kind: 'connection', error };
  }
  try {
    const steps = [
      'MAIL FROM:<load@sender.test>',
      `RCPT TO:<${attempt.recipient}>`,
      'DATA',
      `From: <load@sender.test>\r\nTo: <${attempt.recipient}>\r\nMessage-ID: <${attempt.id}@load.test>\r\n` +
        `Subject: load message ${attempt.message}\r\n\r\nattempt ${attempt.id}\r\n.`,
    ];
    for (const [i, step] of steps.entries()) {
      const reply = await client.command(step, 30_000);
      const expected = i === 2 ? 354 : 250;
      if (reply.code !== expected) return { kind: 'reply', code: reply.code, text: reply.text };
    }
    return { kind: 'accepted' };
  } catch (err) {
    return { kind: 'connection', error: err instanceof Error ? err.message : String(err) };
  }
}

/** The attempt ids in raw messages (one per message), as `<prefix>-<n>`. */
export function attemptIdsIn(messages: readonly string[], prefix: string): string[] {
  const pattern = new RegExp(`^Message-ID: <(${prefix}-\\d+)@load\\.test>`, 'm');
  return messages.map((m) => pattern.exec(m)?.[1] ?? '(none)');
}
