/**
 * A Pop3Session for the tests: alice@example.org with real SASL secrets, a fake maildrop,
 * and everything the session writes, as latin1 text so byte counts are character counts.
 */
import { randomBytes, scryptSync } from 'node:crypto';
import { derivePasswordSecrets } from '../sasl/password-secrets.js';
import type { SaslCredentials } from '../sasl/sasl-step.js';
import {
  type Pop3Action,
  type Pop3Hooks,
  type Pop3Send,
  Pop3Session,
  type Pop3SessionOptions,
} from './session.js';
import { pop3WireSize } from './wire.js';

export const USER = 'alice@example.org';
export const PASSWORD = 'tanstaaftanstaaf';

// The real verifier format with a tiny scrypt cost: the session checks USER/PASS and PLAIN
// through the real verifyScrypt, and property tests can log in hundreds of times.
function cheapScryptVerifier(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, 32, { N: 16, r: 1, p: 1 });
  return `$scrypt$ln=4,r=1,p=1$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export const credentials: Promise<SaslCredentials> = derivePasswordSecrets(
  USER,
  'example.org',
  PASSWORD,
).then((secrets) => ({ ...secrets, scrypt: cheapScryptVerifier(PASSWORD), accountId: '1', address: USER }));

/** Message n of the default maildrop: n body lines. */
export function messageOf(n: number): Buffer {
  return Buffer.from(
    `Subject: message ${n}\r\nMessage-ID: <${n}@example.org>\r\n\r\n${'body line\r\n'.repeat(n)}`,
  );
}

export interface Harness {
  session: Pop3Session;
  /** Everything written so far. */
  output: () => string;
  /** Sends lines one by one through handleLine; returns what was written in answer. */
  say: (...lines: string[]) => Promise<string>;
  /** Sends raw bytes through receive, chunk by chunk; returns what was written in answer. */
  feed: (...chunks: (string | Uint8Array)[]) => Promise<string>;
  actions: Pop3Action[];
  committed: number[][];
  failures: number;
  /** The chunks written, as they were passed to send. */
  writes: (string | Uint8Array)[];
}

export function start(
  options: Partial<Pop3SessionOptions> = {},
  messages: readonly Uint8Array[] = [messageOf(1), messageOf(2), messageOf(3)],
  extra: Partial<Pop3Hooks> = {},
  /** Called with each chunk after it is recorded: what the service's write does. */
  write?: Pop3Send,
): Harness {
  let out = '';
  const collect = async (run: () => Promise<void>) => {
    const before = out.length;
    await run();
    return out.slice(before);
  };
  const h: Harness = {
    session: undefined as unknown as Pop3Session,
    output: () => out,
    actions: [],
    committed: [],
    failures: 0,
    writes: [],
    say: (...lines) =>
      collect(async () => {
        for (const line of lines) h.actions.push(await h.session.handleLine(line));
      }),
    feed: (...chunks) =>
      collect(async () => {
        for (const chunk of chunks)
          h.actions.push(
            await h.session.receive(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk),
          );
      }),
  };
  h.session = new Pop3Session(
    {
      hostname: 'pop.example.org',
      tls: 'starttls',
      plaintextAllowed: true,
      realms: () => ['example.org'],
      ...options,
    },
    {
      lookupCredentials: async (user) => (user === USER ? credentials : undefined),
      openMaildrop: async () => messages.map((m, i) => ({ uid: `7.${i + 1}`, size: pop3WireSize(m) })),
      readMessage: async (index) => messages[index]!,
      commitDeletions: async (indexes) => {
        h.committed.push([...indexes]);
      },
      authFailed: () => {
        h.failures++;
      },
      ...extra,
    },
    (chunk) => {
      h.writes.push(chunk);
      out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('latin1');
      return write?.(chunk);
    },
  );
  h.session.greeting();
  return h;
}

/** Logs in with USER/PASS and forgets the output of that. */
export async function loggedIn(...args: Parameters<typeof start>): Promise<Harness> {
  const h = start(...args);
  await h.say(`USER ${USER}`, `PASS ${PASSWORD}`);
  if (h.session.state !== 'transaction') throw new Error(`login failed: ${h.output()}`);
  return h;
}
