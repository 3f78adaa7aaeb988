import { describe, expect, it, vi } from 'vitest';
import { SaslDialogue } from './sasl-dialogue.js';
import type { SaslStep } from './sasl-step.js';
import { ALICE, ALICE_IDENTITY, testServer } from './test-accounts.js';

// One test swaps the exchange for one whose success carries additional data (as SCRAM's
// does), without the SCRAM arithmetic.
const scripted: { steps: SaslStep[] | undefined } = { steps: undefined };
vi.mock('./sasl-exchange.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('./sasl-exchange.js')>();
  return {
    ...actual,
    createSaslExchange: (...args: Parameters<typeof actual.createSaslExchange>) => {
      const steps = scripted.steps;
      if (!steps) return actual.createSaslExchange(...args);
      return {
        mechanism: args[0],
        start: async () => steps.shift()!,
        respond: async () => steps.shift()!,
      };
    },
  };
});

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const plain = (user: string, password: string) => b64(`\0${user}\0${password}`);

describe('SaslDialogue', () => {
  it('authenticates PLAIN from an initial response', async () => {
    const dialogue = new SaslDialogue('PLAIN', testServer());
    await expect(dialogue.start(plain(ALICE.address, ALICE.password))).resolves.toEqual({
      kind: 'success',
      identity: ALICE_IDENTITY,
      mechanism: 'PLAIN',
    });
    expect(dialogue.waiting).toBe(false);
  });

  it('challenges with base64 and takes the answer in base64 (LOGIN)', async () => {
    const dialogue = new SaslDialogue('LOGIN', testServer());
    const first = await dialogue.start(undefined);
    expect(first).toEqual({ kind: 'challenge', base64: b64('Username:') });
    expect(await dialogue.answer(b64(ALICE.address))).toEqual({
      kind: 'challenge',
      base64: b64('Password:'),
    });
    expect(await dialogue.answer(`${b64(ALICE.password)}  `)).toMatchObject({ kind: 'success' });
  });

  it('reads "=" as an empty initial response', async () => {
    const dialogue = new SaslDialogue('PLAIN', testServer());
    // PLAIN refuses an empty response as malformed, which shows it was passed on as empty.
    await expect(dialogue.start('=')).resolves.toMatchObject({ kind: 'failure', reason: 'malformed' });
  });

  it('refuses an initial response or answer that is not base64', async () => {
    await expect(new SaslDialogue('PLAIN', testServer()).start('a!b=')).resolves.toMatchObject({
      kind: 'failure',
      reason: 'undecodable',
    });
    const dialogue = new SaslDialogue('PLAIN', testServer());
    await dialogue.start(undefined);
    await expect(dialogue.answer('abc')).resolves.toMatchObject({ kind: 'failure', reason: 'undecodable' });
    expect(dialogue.waiting).toBe(false);
  });

  it('ends as cancelled on "*"', async () => {
    const dialogue = new SaslDialogue('LOGIN', testServer());
    await dialogue.start(undefined);
    await expect(dialogue.answer('*')).resolves.toMatchObject({ kind: 'failure', reason: 'cancelled' });
    expect(dialogue.waiting).toBe(false);
  });

  it('reports a wrong password as invalid credentials', async () => {
    const dialogue = new SaslDialogue('PLAIN', testServer());
    await expect(dialogue.start(plain(ALICE.address, 'wrong'))).resolves.toMatchObject({
      kind: 'failure',
      reason: 'invalid-credentials',
    });
  });

  it('sends success data as a challenge and succeeds when the client acknowledges it', async () => {
    scripted.steps = [{ kind: 'success', identity: ALICE_IDENTITY, finalData: Buffer.from('v=proof') }];
    try {
      const dialogue = new SaslDialogue('SCRAM-SHA-256', testServer());
      expect(await dialogue.start(b64('client-first'))).toEqual({
        kind: 'challenge',
        base64: b64('v=proof'),
      });
      expect(dialogue.waiting).toBe(true);
      expect(await dialogue.answer('')).toEqual({
        kind: 'success',
        identity: ALICE_IDENTITY,
        mechanism: 'SCRAM-SHA-256',
      });
    } finally {
      scripted.steps = undefined;
    }
  });

  it('lets the client cancel instead of acknowledging success data', async () => {
    scripted.steps = [{ kind: 'success', identity: ALICE_IDENTITY, finalData: Buffer.from('v=proof') }];
    try {
      const dialogue = new SaslDialogue('SCRAM-SHA-256', testServer());
      await dialogue.start(b64('client-first'));
      await expect(dialogue.answer('*')).resolves.toMatchObject({ kind: 'failure', reason: 'cancelled' });
    } finally {
      scripted.steps = undefined;
    }
  });
});
