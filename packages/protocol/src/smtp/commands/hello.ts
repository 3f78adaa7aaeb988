import { domainToASCII } from 'node:url';
import { isValidDomainName, normalizeAddressLiteral } from '../path.js';
import { reply } from '../reply.js';
import { command, hasControl, invalid, syntax } from './arguments.js';
import { ANY_STATE, answer, type SmtpCommandContext, type SmtpOutcome, smtpCommand } from './context.js';

/** HELO or EHLO: the name the client gives itself, as it wrote it. */
export interface HelloRequest<V extends 'HELO' | 'EHLO'> {
  readonly verb: V;
  /** EHLO: a domain name or an address literal (`[192.0.2.1]`, `[IPv6:::1]`). */
  readonly domain: string;
}

/**
 * The client's name as the EHLO reply may echo it: reply text is US-ASCII (RFC 5321 §4.2:
 * textstring), and an SMTPUTF8 client may name itself in U-labels (RFC 6531 §3.3), so those
 * are written as A-labels. A name without an A-label form is not echoed at all.
 */
function echoedName(domain: string): string {
  if (/^[\x21-\x7e]*$/.test(domain)) return `${domain} `;
  const ascii = domainToASCII(domain);
  return ascii === '' ? '' : `${ascii} `;
}

/** RFC 5321 §4.1.4: HELO/EHLO may come at any time, and ends any transaction. */
function greet(ctx: SmtpCommandContext, domain: string, extended: boolean): SmtpOutcome {
  ctx.greeted(domain, extended);
  ctx.policy.heloReceived?.(ctx.client);
  if (!extended) return answer(reply(250, undefined, ctx.config.hostname));
  const hello = `${ctx.config.hostname} Hello ${echoedName(domain)}[${ctx.clientAddress}]`;
  return answer(reply(250, undefined, hello, ...ctx.ehloKeywords()));
}

/**
 * RFC 5321 §4.1.1.1 asks for a domain, but broken clients send bare IPs, underscores and
 * worse; HELO is the old command they use, so it takes any printable text. Control
 * characters are refused: the name ends up in a Received field.
 */
export const helo = smtpCommand({
  verb: 'HELO',
  states: ANY_STATE,
  parse(argument) {
    if (argument === '' || hasControl(argument)) return syntax('HELO hostname');
    return command<HelloRequest<'HELO'>>({ verb: 'HELO', domain: argument });
  },
  handle: (req, ctx) => greet(ctx, req.domain, false),
});

/** `"EHLO" SP ( Domain / address-literal )` (RFC 5321 §4.1.1.1). */
export const ehlo = smtpCommand({
  verb: 'EHLO',
  states: ANY_STATE,
  // Extensions of the session rather than of one command: RFC 2920, RFC 2034.
  ehloKeywords: () => ['PIPELINING', 'ENHANCEDSTATUSCODES'],
  parse(argument) {
    if (argument === '') return syntax('EHLO hostname');
    const valid = argument.startsWith('[')
      ? normalizeAddressLiteral(argument) !== undefined
      : isValidDomainName(argument);
    if (!valid) return invalid('EHLO needs a domain name or an address literal');
    return command<HelloRequest<'EHLO'>>({ verb: 'EHLO', domain: argument });
  },
  handle: (req, ctx) => greet(ctx, req.domain, true),
});
