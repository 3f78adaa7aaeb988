/**
 * A ManageSieveSession for the tests: alice@example.org (password "correct horse", real SASL
 * secrets), her scripts in memory with the store's rules (one active, the active one not
 * deleted, names exact, a script count), and everything the session writes as text.
 */
import { aliceCredentials } from '../sasl/test-accounts.js';
import type { ManageSieveScripts, SieveQuotaLimit } from './commands/context.js';
import { ManageSieveSession } from './session.js';
import type { ManageSieveAction, ManageSieveHooks, ManageSieveSessionOptions } from './session-types.js';

export const USER = 'alice@example.org';
export const PASSWORD = 'correct horse';
/** PLAIN's initial response for alice: base64 of "\0alice@example.org\0correct horse". */
export const ALICE_PLAIN = Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64');

export class MemoryScripts implements ManageSieveScripts {
  readonly scripts = new Map<string, string>();
  active: string | null = null;
  /** Set to make every call fail, as a store that went away. */
  broken = false;

  constructor(
    readonly maxScripts = 5,
    readonly maxBytes = 1024 * 1024,
    readonly globals: readonly string[] = [],
  ) {}

  private check(): void {
    if (this.broken) throw new Error('connection refused');
  }

  async list() {
    this.check();
    return [...this.scripts.keys()].sort().map((name) => ({ name, active: name === this.active }));
  }

  async get(name: string) {
    this.check();
    return this.scripts.get(name);
  }

  async haveSpace(name: string, bytes: number): Promise<'ok' | SieveQuotaLimit> {
    this.check();
    if (bytes > this.maxBytes) return 'maxsize';
    if (!this.scripts.has(name) && this.scripts.size >= this.maxScripts) return 'maxscripts';
    return 'ok';
  }

  async put(name: string, content: string): Promise<'ok' | SieveQuotaLimit> {
    const space = await this.haveSpace(name, Buffer.byteLength(content));
    if (space === 'ok') this.scripts.set(name, content);
    return space;
  }

  async activate(name: string | null) {
    this.check();
    if (name !== null && !this.scripts.has(name)) return 'nonexistent' as const;
    this.active = name;
    return 'ok' as const;
  }

  async delete(name: string) {
    this.check();
    if (!this.scripts.has(name)) return 'nonexistent' as const;
    if (this.active === name) return 'active' as const;
    this.scripts.delete(name);
    return 'deleted' as const;
  }

  async rename(oldName: string, newName: string) {
    this.check();
    if (this.scripts.has(newName)) return 'already-exists' as const;
    const content = this.scripts.get(oldName);
    if (content === undefined) return 'nonexistent' as const;
    this.scripts.delete(oldName);
    this.scripts.set(newName, content);
    if (this.active === oldName) this.active = newName;
    return 'renamed' as const;
  }

  async globalExists(name: string) {
    return this.globals.includes(name);
  }
}

export interface Harness {
  readonly session: ManageSieveSession;
  readonly scripts: MemoryScripts;
  /** Everything written so far. */
  output(): string;
  /** Sends bytes through receive, chunk by chunk; returns what was written in answer. */
  feed(...chunks: (string | Uint8Array)[]): Promise<string>;
  /** Feeds the chunks as one; the last action. */
  readonly actions: ManageSieveAction[];
  readonly failures: string[];
  readonly logins: string[];
}

export function start(
  options: Partial<ManageSieveSessionOptions> = {},
  scripts = new MemoryScripts(),
  extra: Partial<ManageSieveHooks> = {},
): Harness {
  let out = '';
  const actions: ManageSieveAction[] = [];
  const failures: string[] = [];
  const logins: string[] = [];
  const hooks: ManageSieveHooks = {
    lookupCredentials: async (username) => (username.toLowerCase() === USER ? aliceCredentials() : undefined),
    openScripts: async () => scripts,
    authFailed: (mechanism) => {
      failures.push(mechanism);
    },
    authSucceeded: (identity) => {
      logins.push(identity.address);
    },
    ...extra,
  };
  const session = new ManageSieveSession(
    {
      hostname: 'sieve.example.org',
      tls: 'starttls',
      plaintextAllowed: false,
      realms: () => ['example.org'],
      ...options,
    },
    hooks,
    (chunk) => {
      out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    },
  );
  return {
    session,
    scripts,
    output: () => out,
    actions,
    failures,
    logins,
    async feed(...chunks) {
      const before = out.length;
      for (const chunk of chunks) actions.push(await session.receive(Buffer.from(chunk)));
      return out.slice(before);
    },
  };
}

/** A session already logged in as alice (plaintext allowed, as on loopback). */
export async function loggedIn(
  options: Partial<ManageSieveSessionOptions> = {},
  scripts = new MemoryScripts(),
  extra: Partial<ManageSieveHooks> = {},
): Promise<Harness> {
  const h = start({ plaintextAllowed: true, ...options }, scripts, extra);
  const answer = await h.feed(`AUTHENTICATE "PLAIN" "${ALICE_PLAIN}"\r\n`);
  if (answer !== 'OK "Logged in"\r\n') throw new Error(`could not log in: ${answer}`);
  return h;
}
