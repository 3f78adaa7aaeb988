import { describeMailStoreContract } from './mail-store.contract.js';
import { MemoryMailStore } from './memory-mail-store.js';

// The in-memory store the IMAP engine tests use, held to the mail store contract.

let users = 0;

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
  return {
    session: async () => store.account(address),
    setQuota: async (bytes) => {
      store.quota = bytes ?? undefined;
    },
  };
});
