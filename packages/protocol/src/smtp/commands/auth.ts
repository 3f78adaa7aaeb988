import { SaslDialogue } from '../../sasl/sasl-dialogue.js';
import { isPlaintextMechanism, SASL_MECHANISMS, type SaslMechanismName } from '../../sasl/sasl-exchange.js';
import { reply, type SmtpReply } from '../reply.js';
import { command, syntax, words } from './arguments.js';
import { answer, close, refuse, type SmtpCommandContext, type SmtpOutcome, smtpCommand } from './context.js';

/** `"AUTH" SP sasl-mech [SP initial-response]` (RFC 4954 §4). */
export interface AuthRequest {
  readonly verb: 'AUTH';
  /** Upper-cased. */
  readonly mechanism: string;
  /** As sent (`=` means empty); base64 is the SASL dialogue's to check. */
  readonly initialResponse?: string;
}

// RFC 4954 §4: an AUTH response line may be up to 12288 octets.
const MAX_AUTH_LINE_BYTES = 12_288;
// RFC 4954 §3: sasl-mech = 1*20mech-char (upper-case letters, digits, "-", "_").
const SASL_MECH = /^[A-Za-z0-9_-]{1,20}$/;
// Order of the AUTH line: the challenge-response mechanisms first, as the classic
// `250-AUTH CRAM-MD5 DIGEST-MD5 …` shows.
const AUTH_ORDER: readonly SaslMechanismName[] = [
  'CRAM-MD5',
  'DIGEST-MD5',
  'SCRAM-SHA-256',
  'PLAIN',
  'LOGIN',
];
const CANNOT_DECODE = reply(501, '5.5.2', 'Cannot decode response');

function enabledMechanisms(ctx: SmtpCommandContext): readonly SaslMechanismName[] {
  return ctx.config.saslMechanisms ?? SASL_MECHANISMS;
}

function plaintextAllowed(ctx: SmtpCommandContext): boolean {
  return ctx.tls || ctx.config.allowPlaintextAuth;
}

function offeredMechanisms(ctx: SmtpCommandContext): SaslMechanismName[] {
  if (ctx.config.role !== 'submission') return [];
  // RFC 4954 §4: plaintext mechanisms are not offered where they would travel in clear.
  return AUTH_ORDER.filter(
    (m) => enabledMechanisms(ctx).includes(m) && (plaintextAllowed(ctx) || !isPlaintextMechanism(m)),
  );
}

/** Why AUTH cannot run now, in the order the checks have always been made. */
function refusalNow(ctx: SmtpCommandContext): SmtpReply | undefined {
  if (ctx.config.role !== 'submission') return reply(503, '5.5.1', 'Error: authentication not enabled');
  if (ctx.state === 'connected') return reply(503, '5.5.1', 'Error: send EHLO first');
  if (ctx.authenticated) return reply(503, '5.5.1', 'Error: already authenticated');
  if (ctx.state !== 'greeted') return reply(503, '5.5.1', 'Error: MAIL transaction in progress');
  return undefined;
}

/** AUTH (RFC 4954): the framing is SaslDialogue's; this says how SMTP shows its turns. */
export const auth = smtpCommand({
  verb: 'AUTH',
  states: ['greeted'],
  outOfState: (_state, ctx) => refusalNow(ctx) ?? reply(503, '5.5.1', 'Error: MAIL transaction in progress'),
  ehloKeywords(ctx) {
    const mechanisms = offeredMechanisms(ctx);
    return mechanisms.length > 0 && !ctx.authenticated ? [`AUTH ${mechanisms.join(' ')}`] : [];
  },
  parse(argument) {
    const [mechanism, initialResponse, ...extra] = words(argument);
    if (mechanism === undefined || !SASL_MECH.test(mechanism) || extra.length > 0) {
      return syntax('AUTH mechanism [initial-response]');
    }
    const verb = 'AUTH';
    if (initialResponse === undefined)
      return command<AuthRequest>({ verb, mechanism: mechanism.toUpperCase() });
    if (!/^[\x21-\x7e]+$/.test(initialResponse)) return syntax('AUTH mechanism [initial-response]');
    return command<AuthRequest>({ verb, mechanism: mechanism.toUpperCase(), initialResponse });
  },
  async handle(req, ctx): Promise<SmtpOutcome> {
    const refused = refusalNow(ctx);
    if (refused) return refuse(refused);
    const mechanism = enabledMechanisms(ctx).find((m) => m === req.mechanism);
    if (!mechanism) return refuse(reply(504, '5.5.4', 'Unrecognized authentication type'));
    if (isPlaintextMechanism(mechanism) && !plaintextAllowed(ctx)) {
      return refuse(reply(538, '5.7.11', 'Encryption required for requested authentication mechanism'));
    }
    const dialogue = new SaslDialogue(mechanism, {
      service: 'smtp',
      hostname: ctx.config.hostname,
      realms: ctx.config.realms(),
      lookup: ctx.policy.lookupCredentials,
    });
    let turn = await dialogue.start(req.initialResponse);
    while (turn.kind === 'challenge') {
      // RFC 4954 §4: SMTP has no success-with-data; the dialogue sends it as a challenge too.
      ctx.send({ code: 334, lines: [turn.base64] });
      const read = await ctx.readLine(MAX_AUTH_LINE_BYTES);
      if (read.kind === 'eof') return close();
      if (read.kind === 'too-long') return refuse(CANNOT_DECODE);
      turn = await dialogue.answer(read.line.toString('latin1'));
    }
    if (turn.kind === 'success') {
      ctx.authenticate(turn.identity);
      ctx.policy.authSucceeded?.(ctx.client, mechanism);
      return answer(reply(235, '2.7.0', 'Authentication successful'));
    }
    // The client's framing, not a guess at a password: an error like any bad command.
    if (turn.reason === 'cancelled') return refuse(reply(501, '5.0.0', 'Authentication cancelled'));
    if (turn.reason === 'undecodable') return refuse(CANNOT_DECODE);
    ctx.policy.authFailed?.(ctx.client, mechanism);
    const failure =
      turn.reason === 'temporary'
        ? reply(454, '4.7.0', 'Temporary authentication failure')
        : turn.reason === 'malformed'
          ? reply(501, '5.5.2', 'Malformed authentication data')
          : reply(535, '5.7.8', 'Authentication credentials invalid');
    return { kind: 'auth-failure', reply: failure };
  },
});
