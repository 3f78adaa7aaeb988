import { describe } from 'vitest';
import { describeAccountEventsContract } from './account-events.contract.js';
import { describeCondstoreContract } from './condstore.contract.js';
import type { NewMailUser } from './mail-store-contract-support.js';
import { describeMailboxContract } from './mailboxes.contract.js';
import { describeMessageContract } from './messages.contract.js';
import { describeMetadataContract } from './metadata.contract.js';
import { describeMultiAppendContract } from './multi-append.contract.js';
import { describeObjectIdContract } from './object-ids.contract.js';
import { describeSearchContract } from './search.contract.js';
import { describeSessionContract } from './sessions.contract.js';
import { describeSharingContract } from './sharing.contract.js';

// The behaviour every mail store behind the IMAP engine's ImapAccount / OpenMailbox must
// have, run against the Postgres store (services/imap-gateway postgres-account.contract.test.ts)
// and the in-memory one the engine tests use (memory-mail-store.contract.test.ts), so the
// fake cannot drift from the real thing. Not a test file itself: those import it
// (`@tegami/testing/mail-store-contract`). Where the two differed, this suite decided; see
// docs/architecture/mail-store-contract.md.

export type { MailUser, NewMailUser } from './mail-store-contract-support.js';

/** Each test makes users of its own (`newUser`), so tests share nothing and may run in any order. */
export function describeMailStoreContract(name: string, newUser: NewMailUser): void {
  describe(`mail store contract: ${name}`, () => {
    describeMailboxContract(newUser);
    describeSessionContract(newUser);
    describeMessageContract(newUser);
    describeMultiAppendContract(newUser);
    describeSearchContract(newUser);
    describeCondstoreContract(newUser);
    describeObjectIdContract(newUser);
    describeMetadataContract(newUser);
    describeSharingContract(newUser);
    describeAccountEventsContract(newUser);
  });
}
