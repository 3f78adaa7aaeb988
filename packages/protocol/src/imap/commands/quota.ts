// QUOTA (RFC 9208): GETQUOTA, GETQUOTAROOT and SETQUOTA. An account has one quota root,
// "", over all its mailboxes, with one resource, STORAGE, in units of 1024 octets (§5.1),
// read from the account's counters. An account without a limit has no quota root: its
// mailboxes' QUOTAROOT lists none, and GETQUOTA "" is NO (§4.1.1: "the root does not
// exist"). Limits are the operator's to set (`tegami user quota`): SETQUOTA is NO [NOPERM].

import type { AccountQuota } from '../session-types.js';
import { astringOf } from '../wire-values.js';
import { bad, defineCommand, ImapReply, LOGGED_IN, no, ok } from './command-spec.js';
import { mailboxName, wireName } from './mailbox-arguments.js';

/** The one quota root's name. */
const ROOT = '';

function quotaResponse(quota: AccountQuota & { limitBytes: number }): string {
  const used = Math.floor(quota.usedBytes / 1024);
  const limit = Math.floor(quota.limitBytes / 1024);
  return `* QUOTA "${ROOT}" (STORAGE ${used} ${limit})\r\n`;
}

const limited = (quota: AccountQuota): quota is AccountQuota & { limitBytes: number } =>
  quota.limitBytes !== null;

export const getquota = defineCommand({
  name: 'GETQUOTA',
  states: LOGGED_IN,
  capabilities: (view) => ({ now: view.state === 'not-authenticated' ? [] : ['QUOTA', 'QUOTA=RES-STORAGE'] }),
  parse(args) {
    const root = args.length === 1 ? astringOf(args[0]) : undefined;
    return root === undefined ? bad('GETQUOTA needs a quota root') : { root };
  },
  async handle({ root }, context) {
    const quota = await context.account.quota();
    if (root !== ROOT || !limited(quota)) return no('[NONEXISTENT] no such quota root');
    await context.write(quotaResponse(quota));
    return ok('GETQUOTA completed');
  },
});

export const getquotaroot = defineCommand({
  name: 'GETQUOTAROOT',
  states: LOGGED_IN,
  parse: (args) => (args.length === 1 ? args[0]! : bad('GETQUOTAROOT needs a mailbox name')),
  async handle(token, context) {
    const name = mailboxName(token, context.utf8);
    if (name instanceof ImapReply) return name;
    // Only a mailbox that exists has quota roots (§4.1.2).
    const [status, quota] = await Promise.all([context.account.status(name), context.account.quota()]);
    if (!status) return no('[NONEXISTENT] no such mailbox');
    const mailbox = wireName(name, context.utf8);
    await context.write(
      limited(quota)
        ? `* QUOTAROOT ${mailbox} "${ROOT}"\r\n${quotaResponse(quota)}`
        : `* QUOTAROOT ${mailbox}\r\n`,
    );
    return ok('GETQUOTAROOT completed');
  },
});

export const setquota = defineCommand({
  name: 'SETQUOTA',
  states: LOGGED_IN,
  parse(args) {
    if (args.length !== 2 || astringOf(args[0]) === undefined || args[1]?.type !== 'list') {
      return bad('SETQUOTA needs a quota root and a list of limits');
    }
    return {};
  },
  handle: async () => no('[NOPERM] quotas are set by the operator'),
});
