/**
 * The IMAP engine tests' harness: an ImapSession driven over the in-memory mail store
 * (packages/testing mail-store/, held to the Postgres store's behaviour by the mail store
 * contract), with alice's credentials. Several sessions can share one MemoryMailStore: a
 * change made through one wakes the mailboxes the others watch.
 */
import { randomBytes, scryptSync } from 'node:crypto';
import { type MemoryAccount, MemoryMailStore } from '@tegami/testing/memory-mail-store';
import { derivePasswordSecrets } from '../sasl/password-secrets.js';
import type { SaslCredentials, SaslIdentity } from '../sasl/sasl-step.js';
import { SharedMailboxStates } from './mailbox-state.js';
import { type ImapAction, ImapSession } from './session.js';
import type { ImapAccount, ImapHooks, ImapSessionOptions, OpenMailbox } from './session-types.js';

export { type MemoryAccount, MemoryMailStore, messageOf } from '@tegami/testing/memory-mail-store';

export const USER = 'alice@example.org';
export const PASSWORD = 'tanstaaftanstaaf';

// ---------------------------------------------------------------------------
// Credentials: real secrets, with a cheap scrypt verifier so LOGIN stays fast

function cheapScryptVerifier(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, 32, { N: 16, r: 1, p: 1 });
  return `$scrypt$ln=4,r=1,p=1$${salt.toString('base64')}$${hash.toString('base64')}`;
}

let secrets: Promise<SaslCredentials> | undefined;

/** alice's credentials, derived once per test file. */
export function credentials(): Promise<SaslCredentials> {
  secrets ??= derivePasswordSecrets(USER, 'example.org', PASSWORD).then((s) => ({
    ...s,
    scrypt: cheapScryptVerifier(PASSWORD),
    accountId: '1',
    address: USER,
  }));
  return secrets;
}

// ---------------------------------------------------------------------------
// The harness

export interface ImapHarness {
  session: ImapSession;
  readonly store: MemoryMailStore;
  /** Everything written so far, latin1 (one character per octet). */
  output(): string;
  /** Each line with CRLF added, through receive, one after another; what was written meanwhile. */
  say(...lines: string[]): Promise<string>;
  /** Raw chunks through receive, one after another; what was written meanwhile. */
  feed(...chunks: (string | Uint8Array)[]): Promise<string>;
  /** Waits for pushed output (IDLE) and returns what was written since the last call of any of these. */
  settle(): Promise<string>;
  readonly actions: ImapAction[];
  readonly accounts: MemoryAccount[];
  authFailures: number;
}

export const DEFAULT_OPTIONS: ImapSessionOptions = {
  hostname: 'imap.example.org',
  tls: 'starttls',
  plaintextAllowed: true,
  realms: () => ['example.org'],
  maxMessageSize: 10_000,
  maxCommandSize: 1_000,
};

export function startImap(
  options: Partial<ImapSessionOptions> = {},
  store: MemoryMailStore = MemoryMailStore.withMessages(),
  hooks: Partial<ImapHooks> = {},
): ImapHarness {
  let out = '';
  let mark = 0;
  const since = () => {
    const text = out.slice(mark);
    mark = out.length;
    return text;
  };
  const accounts: MemoryAccount[] = [];
  const h: ImapHarness = {
    session: undefined as unknown as ImapSession,
    store,
    output: () => out,
    actions: [],
    accounts,
    authFailures: 0,
    say: (...lines) => h.feed(...lines.map((line) => `${line}\r\n`)),
    feed: async (...chunks) => {
      since();
      for (const chunk of chunks) {
        h.actions.push(
          await h.session.receive(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk),
        );
      }
      return since();
    },
    settle: async () => {
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
      return since();
    },
  };
  h.session = new ImapSession(
    { ...DEFAULT_OPTIONS, ...options },
    {
      lookupCredentials: async (user) => (user.toLowerCase() === USER ? credentials() : undefined),
      openAccount: async (identity: SaslIdentity) => {
        const account = store.account(identity.address);
        accounts.push(account);
        return sharingViews(account, shelfOf(store));
      },
      authFailed: () => {
        h.authFailures++;
      },
      ...hooks,
    },
    (chunk) => {
      // As the socket writes it: strings as UTF-8, then one character per octet here.
      out += (typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk)).toString('latin1');
    },
  );
  h.session.greeting();
  since();
  return h;
}

/** A session logged in with LOGIN (and, with `select`, that mailbox selected); the output so far forgotten. */
export async function loggedIn(
  options: Partial<ImapSessionOptions> = {},
  store?: MemoryMailStore,
  select?: string,
): Promise<ImapHarness> {
  const h = startImap(options, store);
  const answer = await h.say(`L1 LOGIN ${USER} ${PASSWORD}`);
  if (h.session.state !== 'authenticated') throw new Error(`login failed: ${answer}`);
  if (select) {
    const selected = await h.say(`S1 SELECT ${select}`);
    if ((h.session.state as string) !== 'selected') throw new Error(`select failed: ${selected}`);
  }
  return h;
}

// ---------------------------------------------------------------------------
// Views shared as the gateway shares them: one shelf per store, so every engine test
// runs with sessions on one mailbox holding one copy of its messages.

const shelves = new WeakMap<MemoryMailStore, SharedMailboxStates>();

/** The shelf the sessions on this store share their views on. */
export function shelfOf(store: MemoryMailStore): SharedMailboxStates {
  let shelf = shelves.get(store);
  if (!shelf) {
    shelf = new SharedMailboxStates();
    shelves.set(store, shelf);
  }
  return shelf;
}

/** The account, with the mailboxes it opens sharing their views on the shelf (keyed by name). */
function sharingViews(account: ImapAccount, shelf: SharedMailboxStates): ImapAccount {
  return withProperty(account, 'open', async (name: string, readOnly: boolean) => {
    const box = await account.open(name, readOnly);
    return box && withProperty<OpenMailbox>(box, 'sharing', { shelf, key: box.name });
  });
}

/** The object with one property answered otherwise; its methods still run on the object itself. */
function withProperty<T extends object>(target: T, name: PropertyKey, value: unknown): T {
  return new Proxy(target, {
    get(object, property) {
      if (property === name) return value;
      const found: unknown = Reflect.get(object, property, object);
      return typeof found === 'function' ? found.bind(object) : found;
    },
  });
}
