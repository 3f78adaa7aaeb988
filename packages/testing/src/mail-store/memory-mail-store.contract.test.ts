import { describeMailStoreContract } from './mail-store.contract.js';
import { MemoryMailStore } from './memory-mail-store.js';
import { MemoryDirectory } from './memory-sharing.js';

// The in-memory store the IMAP engine tests use, held to the mail store contract.

let users = 0;
// One directory for all: users of the contract's sharing tests grant each other mailboxes.
const directory = new MemoryDirectory();

describeMailStoreContract('in-memory', async () => {
  const store = new MemoryMailStore([
    'INBOX',
    ['Sent', '\\Sent'],
    ['Drafts', '\\Drafts'],
    ['Trash', '\\Trash'],
    ['Junk', '\\Junk'],
    ['Archive', '\\Archive'],
  ]);
  const address = `user${++users}@example.org`;
  directory.join(store);
  // Known to the directory from the start, as an account in Postgres is.
  directory.register(address, store);
  return {
    session: async () => store.account(address),
    setQuota: async (bytes) => {
      store.quota = bytes ?? undefined;
    },
  };
});
