// ACL (RFC 4314): SETACL, DELETEACL, GETACL, LISTRIGHTS and MYRIGHTS. Identifiers are the
// addresses of this server's accounts; a mailbox's owner has every right, always (listed by
// GETACL under its address), and nobody else has any until granted one. What the rights
// allow on another user's mailbox is enforced where names are resolved (shared-mailboxes.ts).
//
// Not supported, answered NO: "anyone" and "authenticated" (a grant to them would open the
// mailbox to every account of the server, the mail of one user readable by thousands: too
// easy to give by mistake), and negative rights ("-identifier", §2: optional).

import type { ImapToken } from '../command-tokens.js';
import { ALL_RIGHTS, applyModRights, parseModRights } from '../mailbox-rights.js';
import { imapAString } from '../response.js';
import { type AccountAcl, accountAcl } from '../shared-mailboxes.js';
import { astringOf } from '../wire-values.js';
import { bad, defineCommand, type ImapContext, ImapReply, LOGGED_IN, no, ok } from './command-spec.js';
import { mailboxName, wireName } from './mailbox-arguments.js';

const NONEXISTENT = '[NONEXISTENT] no such mailbox';

/** `identifier` (RFC 4314 §7: an astring), or BAD. */
function identifierOf(token: ImapToken | undefined): string | ImapReply {
  const identifier = astringOf(token);
  return identifier === undefined || identifier === '' ? bad('an identifier is an address') : identifier;
}

/** Why this identifier cannot hold rights here; undefined when it may. */
function identifierRefusal(identifier: string): ImapReply | undefined {
  if (identifier.startsWith('-')) return no('[CANNOT] negative rights are not supported');
  const lower = identifier.toLowerCase();
  if (lower === 'anyone' || lower === 'authenticated')
    return no(`[CANNOT] rights are granted to one account at a time, not to "${identifier}"`);
  return undefined;
}

/** The account's ACL, the mailbox name, or the answer that ends the command. */
function target(context: ImapContext, token: ImapToken): { acl: AccountAcl; name: string } | ImapReply {
  const acl = accountAcl(context.account);
  if (!acl) return no('[CANNOT] this store keeps no access control lists');
  const name = mailboxName(token, context.utf8);
  return name instanceof ImapReply ? name : { acl, name };
}

const identifierOut = (identifier: string, context: ImapContext) => imapAString(identifier, context.utf8);

function changeReply(result: Awaited<ReturnType<AccountAcl['change']>>, command: string): ImapReply {
  switch (result) {
    case 'ok':
      return ok(`${command} completed`);
    case 'nonexistent':
      return no(NONEXISTENT);
    case 'no-such-account':
      return no('[CANNOT] no account has that address');
    case 'owner':
      return no("[CANNOT] the owner's rights are all rights, always");
  }
}

interface SetAclRequest {
  readonly mailbox: ImapToken;
  readonly identifier: string;
  readonly change: NonNullable<ReturnType<typeof parseModRights>>;
}

export const setacl = defineCommand<SetAclRequest>({
  name: 'SETACL',
  states: LOGGED_IN,
  // RIGHTS= lists the rights RFC 2086 did not have (§2.1: "t", "e", "x", "k").
  capabilities: (view) => ({ now: view.state === 'not-authenticated' ? [] : ['ACL', 'RIGHTS=texk'] }),
  parse(args) {
    if (args.length !== 3) return bad('SETACL needs a mailbox, an identifier and rights');
    const identifier = identifierOf(args[1]);
    if (identifier instanceof ImapReply) return identifier;
    const text = astringOf(args[2]);
    const change = text === undefined ? undefined : parseModRights(text);
    return change ? { mailbox: args[0]!, identifier, change } : bad('invalid rights');
  },
  async handle({ mailbox, identifier, change }, context) {
    const found = target(context, mailbox);
    if (found instanceof ImapReply) return found;
    const refused = identifierRefusal(identifier);
    if (refused) return refused;
    return changeReply(
      await found.acl.change(found.name, identifier, (current) => applyModRights(current, change)),
      'SETACL',
    );
  },
});

export const deleteacl = defineCommand<{ mailbox: ImapToken; identifier: string }>({
  name: 'DELETEACL',
  states: LOGGED_IN,
  parse(args) {
    if (args.length !== 2) return bad('DELETEACL needs a mailbox and an identifier');
    const identifier = identifierOf(args[1]);
    return identifier instanceof ImapReply ? identifier : { mailbox: args[0]!, identifier };
  },
  async handle({ mailbox, identifier }, context) {
    const found = target(context, mailbox);
    if (found instanceof ImapReply) return found;
    const refused = identifierRefusal(identifier);
    if (refused) return refused;
    return changeReply(await found.acl.change(found.name, identifier, () => ''), 'DELETEACL');
  },
});

export const getacl = defineCommand<ImapToken>({
  name: 'GETACL',
  states: LOGGED_IN,
  parse: (args) => (args.length === 1 ? args[0]! : bad('GETACL needs a mailbox')),
  async handle(mailbox, context) {
    const found = target(context, mailbox);
    if (found instanceof ImapReply) return found;
    const entries = await found.acl.acl(found.name);
    if (!entries) return no(NONEXISTENT);
    const pairs = entries.map((e) => `${identifierOut(e.identifier, context)} ${e.rights}`);
    await context.write(`* ACL ${wireName(found.name, context.utf8)} ${pairs.join(' ')}\r\n`);
    return ok('GETACL completed');
  },
});

export const listrights = defineCommand<{ mailbox: ImapToken; identifier: string }>({
  name: 'LISTRIGHTS',
  states: LOGGED_IN,
  parse(args) {
    if (args.length !== 2) return bad('LISTRIGHTS needs a mailbox and an identifier');
    const identifier = identifierOf(args[1]);
    return identifier instanceof ImapReply ? identifier : { mailbox: args[0]!, identifier };
  },
  async handle({ mailbox, identifier }, context) {
    const found = target(context, mailbox);
    if (found instanceof ImapReply) return found;
    const mine = await found.acl.rights(found.name);
    if (!mine) return no(NONEXISTENT);
    // §4: LISTRIGHTS needs `a`, as GETACL does.
    if (!mine.rights.includes('a')) return no('[NOPERM] permission denied: needs the a right');
    // §3.4: the rights always granted, then each right that may be granted on its own. The
    // owner has them all, always; anyone else none until granted, each one separately.
    const owner = identifier.toLowerCase() === mine.owner.toLowerCase();
    const rights = owner ? ALL_RIGHTS : `"" ${[...ALL_RIGHTS].join(' ')}`;
    await context.write(
      `* LISTRIGHTS ${wireName(found.name, context.utf8)} ${identifierOut(identifier, context)} ${rights}\r\n`,
    );
    return ok('LISTRIGHTS completed');
  },
});

export const myrights = defineCommand<ImapToken>({
  name: 'MYRIGHTS',
  states: LOGGED_IN,
  parse: (args) => (args.length === 1 ? args[0]! : bad('MYRIGHTS needs a mailbox')),
  async handle(mailbox, context) {
    const found = target(context, mailbox);
    if (found instanceof ImapReply) return found;
    const mine = await found.acl.rights(found.name);
    if (!mine) return no(NONEXISTENT);
    await context.write(`* MYRIGHTS ${wireName(found.name, context.utf8)} ${mine.rights}\r\n`);
    return ok('MYRIGHTS completed');
  },
});
