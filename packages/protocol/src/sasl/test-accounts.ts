/**
 * Test accounts for the SASL tests: secrets made by the real derivePasswordSecrets, a lookup
 * that finds them case-insensitively like the store does, and a helper to drive an exchange.
 */
import { derivePasswordSecrets } from './password-secrets.js';
import type { SaslCredentials, SaslServerOptions, SaslStep } from './sasl-step.js';

export const ALICE = { accountId: 'account-alice', address: 'alice@example.org', password: 'correct horse' };

let alice: Promise<SaslCredentials> | undefined;

/** Alice's secrets as accounts derive them: username = address, realm = the account's domain. */
export function aliceCredentials(): Promise<SaslCredentials> {
  alice ??= derivePasswordSecrets(ALICE.address, 'example.org', ALICE.password).then((secrets) => ({
    ...secrets,
    accountId: ALICE.accountId,
    address: ALICE.address,
  }));
  return alice;
}

export interface TestServer extends SaslServerOptions {
  /** Every username the lookup was asked for. */
  readonly looked: string[];
}

export function testServer(overrides: Partial<SaslServerOptions> = {}): TestServer {
  const looked: string[] = [];
  return {
    service: 'imap',
    hostname: 'mail.example.org',
    realms: ['example.org', 'example.net'],
    lookup: async (username) => {
      looked.push(username);
      return username.toLowerCase() === ALICE.address ? aliceCredentials() : undefined;
    },
    ...overrides,
    looked,
  };
}

export function failingLookup(): Partial<SaslServerOptions> {
  return {
    lookup: async () => {
      throw new Error('connection refused');
    },
  };
}

/** The challenge of a step that must be one, as text. */
export function challengeText(step: SaslStep): string {
  if (step.kind !== 'challenge') throw new Error(`expected a challenge, got ${JSON.stringify(step)}`);
  return step.challenge.toString('utf8');
}

export const AUTHENTICATION_FAILED_STEP = {
  kind: 'failure',
  reason: 'invalid-credentials',
  message: 'authentication failed',
} as const;

export const ALICE_IDENTITY = { accountId: ALICE.accountId, address: ALICE.address };
