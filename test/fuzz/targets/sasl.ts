import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import fc from 'fast-check';
import { parseDirectives, quote } from '../../../packages/protocol/src/sasl/digest-md5-directives.js';
import { createSaslExchange } from '../../../packages/protocol/src/sasl/sasl-exchange.js';
import type {
  SaslMechanismName,
  SaslServerOptions,
  SaslStep,
} from '../../../packages/protocol/src/sasl/sasl-step.js';
import { parseClientFinal, parseClientFirst } from '../../../packages/protocol/src/sasl/scram-messages.js';
import { ALICE, aliceCredentials } from '../../../packages/protocol/src/sasl/test-accounts.js';
import type { FuzzTarget } from '../fuzz-target.js';
import { ensure, mutatedBytes } from '../mail-seeds.js';
import { utf8 } from '../protocol-grammar.js';

// The SASL mechanisms (packages/protocol/src/sasl: PLAIN, LOGIN, CRAM-MD5, DIGEST-MD5,
// SCRAM-SHA-256) and their message parsers, driven like a client would: each response is
// either bytes (random, or a template mutated) or the right answer to the server's last
// challenge, computed here, then perhaps mutated. Every step is a challenge or one of the
// defined failures, never a 'temporary' one (something threw: a bug), never an exception;
// success means Alice, with her password; after the outcome every response is refused.

type Response =
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array }
  /** The correct answer to the last challenge, with at most one byte changed. */
  | { readonly kind: 'answer'; readonly flip?: { readonly at: number; readonly value: number } };

interface SaslInput {
  readonly mechanism: SaslMechanismName;
  readonly initial: Response | undefined;
  readonly responses: readonly Response[];
  readonly user: string;
  readonly password: string;
}

const USERS = [ALICE.address, 'Alice@Example.org', 'bob@example.org', 'alice', '', 'a,b=c', '=2C', '\u0000'];
const PASSWORDS = [ALICE.password, 'wrong', '', 'correct horse '];

const TEMPLATES = [
  `\u0000${ALICE.address}\u0000${ALICE.password}`,
  `${ALICE.address}\u0000${ALICE.address}\u0000x`,
  'n,,n=alice@example.org,r=abcdefghijklmnop',
  'y,a=bob,n=alice@example.org,r=x,ext=1',
  'p=tls-unique,,n=a,r=b',
  'c=biws,r=abcdefghijklmnopserver,p=dGhpcyBpcyBub3QgYSBwcm9vZg==',
  'username="alice@example.org",realm="example.org",nonce="x",cnonce="y",nc=00000001,qop=auth,digest-uri="imap/mail.example.org",response=0123456789abcdef0123456789abcdef,charset=utf-8',
  'username="a\\"b",,, realm = example.org ,nonce="unterminated',
  'alice@example.org 0123456789abcdef0123456789abcdef',
].map(utf8);

const bytes = fc.oneof(
  { weight: 3, arbitrary: mutatedBytes(TEMPLATES) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom(new Uint8Array(0), new Uint8Array(5000)) },
);

const response: fc.Arbitrary<Response> = fc.oneof(
  { weight: 2, arbitrary: bytes.map((b) => ({ kind: 'bytes' as const, bytes: b })) },
  {
    weight: 3,
    arbitrary: fc
      .option(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), {
        freq: 4,
        nil: undefined,
      })
      .map((flip) => (flip ? { kind: 'answer' as const, flip } : { kind: 'answer' as const })),
  },
);

const input: fc.Arbitrary<SaslInput> = fc.record({
  mechanism: fc.constantFrom<SaslMechanismName>('PLAIN', 'LOGIN', 'CRAM-MD5', 'DIGEST-MD5', 'SCRAM-SHA-256'),
  initial: fc.option(response, { nil: undefined }),
  responses: fc.array(response, { maxLength: 4 }),
  user: fc.constantFrom(...USERS),
  password: fc.constantFrom(...PASSWORDS),
});

const md5 = (data: string | Buffer) => createHash('md5').update(data).digest();
const hex = (data: Buffer) => data.toString('hex');

/** What a correct client sends, given the server's last challenge; `state` carries SCRAM's first message. */
function answer(
  input: SaslInput,
  challenge: Buffer | undefined,
  step: number,
  state: { clientFirstBare?: string },
): Buffer {
  const { user, password } = input;
  switch (input.mechanism) {
    case 'PLAIN':
      return Buffer.from(`\u0000${user}\u0000${password}`);
    case 'LOGIN':
      return Buffer.from(step === 0 ? user : password);
    case 'CRAM-MD5':
      return Buffer.from(
        `${user} ${hex(
          createHmac('md5', password)
            .update(challenge ?? '')
            .digest(),
        )}`,
      );
    case 'DIGEST-MD5': {
      if (!challenge || challenge.toString().startsWith('rspauth=')) return Buffer.alloc(0);
      // The challenge names several realms, which parseDirectives (for responses) refuses.
      const nonce = /nonce="([^"]*)"/.exec(challenge.toString('latin1'))?.[1] ?? '';
      const realm = 'example.org';
      const cnonce = 'OA6MHXh6VqTrRk';
      const uri = 'imap/mail.example.org';
      // RFC 2831 §2.1.2.1, md5-sess: A1 = H(user:realm:password):nonce:cnonce.
      const a1 = hex(
        md5(Buffer.concat([md5(`${user}:${realm}:${password}`), Buffer.from(`:${nonce}:${cnonce}`)])),
      );
      const a2 = hex(md5(`AUTHENTICATE:${uri}`));
      const value = hex(md5(`${a1}:${nonce}:00000001:${cnonce}:auth:${a2}`));
      return Buffer.from(
        `username=${quote(user)},realm=${quote(realm)},nonce=${quote(nonce)},cnonce=${quote(cnonce)},nc=00000001,qop=auth,digest-uri=${quote(uri)},response=${value},charset=utf-8`,
      );
    }
    case 'SCRAM-SHA-256': {
      const first = challenge?.toString('utf8') ?? '';
      if (!first.startsWith('r=')) {
        const name = user.replace(/=/g, '=3D').replace(/,/g, '=2C');
        state.clientFirstBare = `n=${name},r=fyko+d2lbbFgONRv9qkxdawL`;
        return Buffer.from(`n,,${state.clientFirstBare}`);
      }
      const fields = new Map(first.split(',').map((f) => [f.slice(0, 1), f.slice(2)] as const));
      const salted = pbkdf2Sync(
        password,
        Buffer.from(fields.get('s') ?? '', 'base64'),
        Math.min(Number(fields.get('i')) || 1, 10_000),
        32,
        'sha256',
      );
      const clientKey = createHmac('sha256', salted).update('Client Key').digest();
      const storedKey = createHash('sha256').update(clientKey).digest();
      const withoutProof = `c=biws,r=${fields.get('r') ?? ''}`;
      const authMessage = `${state.clientFirstBare ?? ''},${first},${withoutProof}`;
      const signature = createHmac('sha256', storedKey).update(authMessage).digest();
      const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
      return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`);
    }
  }
}

function resolve(
  r: Response,
  input: SaslInput,
  challenge: Buffer | undefined,
  step: number,
  state: { clientFirstBare?: string },
): Buffer {
  if (r.kind === 'bytes') return Buffer.from(r.bytes);
  const correct = answer(input, challenge, step, state);
  if (!r.flip || correct.length === 0) return correct;
  const changed = Buffer.from(correct);
  changed[r.flip.at % changed.length] = r.flip.value;
  return changed;
}

function checkStep(step: SaslStep): void {
  if (step.kind === 'challenge') {
    // SCRAM's server-first message repeats the client's nonce (up to the 4096-octet response
    // cap): a challenge may be that long plus the server's nonce, salt and count, no longer.
    ensure(step.challenge.length <= 4096 + 256, 'a challenge larger than what the client sent allows');
    return;
  }
  if (step.kind === 'failure') {
    ensure(
      step.reason !== 'temporary',
      `a temporary failure (something threw): ${step.message} ${String(step.cause)}`,
    );
    ensure(step.message !== '', 'a failure without a message');
    return;
  }
  ensure(
    step.identity.address === ALICE.address && step.identity.accountId === ALICE.accountId,
    'success for someone else',
  );
}

let server: Promise<SaslServerOptions> | undefined;

/**
 * Alice, found case-insensitively like the store does. A wrong cleartext password is told
 * without scrypt (an exact compare stands in for it), and an unknown user is an account
 * whose every password is wrong: scrypt at its real cost would be all the fuzzer measured.
 */
function testServer(): Promise<SaslServerOptions> {
  server ??= aliceCredentials().then((alice) => ({
    service: 'imap',
    hostname: 'mail.example.org',
    realms: ['example.org', 'example.net'],
    lookup: async (username) =>
      username.toLowerCase() === ALICE.address
        ? { ...alice, verifyPassword: async (p: string) => p === ALICE.password }
        : undefined,
  }));
  return server;
}

export const target: FuzzTarget<SaslInput> = {
  name: 'sasl',
  covers: 'SASL PLAIN, LOGIN, CRAM-MD5, DIGEST-MD5, SCRAM-SHA-256 exchanges and their message parsers',
  input,
  async check(sasl) {
    const options = await testServer();
    const exchange = createSaslExchange(sasl.mechanism, {
      ...options,
      // Unknown users in PLAIN and LOGIN would cost a real scrypt run each.
      lookup: async (username) =>
        (await options.lookup(username)) ??
        (sasl.mechanism === 'PLAIN' || sasl.mechanism === 'LOGIN'
          ? { ...(await aliceCredentials()), address: username, verifyPassword: async () => false }
          : undefined),
    });
    const state: { clientFirstBare?: string } = {};
    const sent: Response[] = [];
    const send = (r: Response, challenge: Buffer | undefined) => {
      sent.push(r);
      return resolve(r, sasl, challenge, sent.length - 1, state);
    };
    let step = await exchange.start(sasl.initial && send(sasl.initial, undefined));
    checkStep(step);
    for (const r of sasl.responses) {
      const last = step.kind === 'challenge' ? step.challenge : undefined;
      const next = await exchange.respond(send(r, last));
      checkStep(next);
      if (step.kind !== 'challenge') {
        ensure(
          next.kind === 'failure' && next.reason === 'malformed',
          'a response after the outcome was not refused',
        );
      }
      step = next;
    }
    if (step.kind === 'success') {
      // Only with Alice's password: computed with it, or sent in clear (a mutated template
      // may carry it). Her name may be in any case: the store's lookup ignores case.
      const computedWithIt = sasl.password === ALICE.password && sent.some((r) => r.kind === 'answer');
      const sentInClear = sent.some(
        (r) => r.kind === 'bytes' && Buffer.from(r.bytes).includes(ALICE.password),
      );
      ensure(computedWithIt || sentInClear, 'success without the password');
    }
    // The parsers alone, on the same bytes: values or failures, never exceptions.
    for (const r of [sasl.initial, ...sasl.responses]) {
      if (r?.kind !== 'bytes') continue;
      const text = Buffer.from(r.bytes).toString('latin1');
      parseClientFirst(text);
      parseClientFinal(text);
      const directives = parseDirectives(text);
      if (directives) {
        // What the parser read, written back quoted, reads back the same.
        const written = [...directives].map(([name, value]) => `${name}=${quote(value)}`).join(',');
        const again = parseDirectives(written);
        ensure(
          again !== undefined && [...again].join('\n') === [...directives].join('\n'),
          'directives do not round-trip',
        );
      }
    }
  },
};
