import { randomBytes } from 'node:crypto';
import { verifyScrypt } from '@tegami/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quotaUsage } from './account-usage.js';
import {
  createAccount,
  findAccount,
  findAuthSecrets,
  listAccounts,
  listAccountUsage,
  removeAccount,
  setPassword,
  setQuota,
} from './accounts.js';
import { addAlias, findAlias, listAliases, removeAlias } from './aliases.js';
import { addDomain, ensureDomain, listDomains, removeDomain } from './domains.js';
import { legacySaslPolicy } from './legacy-sasl-secrets.js';
import { listMailboxes } from './mailboxes.js';
import { appendMessage } from './messages.js';
import { createSecretsKeyring } from './sealed-secrets.js';
import { openTestStore } from './test-store.js';

const legacy = legacySaslPolicy(createSecretsKeyring([randomBytes(32)]), true);

let store: Awaited<ReturnType<typeof openTestStore>>;

beforeAll(async () => {
  store = await openTestStore();
  await addDomain(store.pool, 'Example.ORG');
});
afterAll(() => store.close());

describe('domains', () => {
  it('stores names in lower case and refuses duplicates and bad names', async () => {
    expect((await listDomains(store.pool)).map((d) => d.name)).toContain('example.org');
    await expect(addDomain(store.pool, 'example.org')).rejects.toMatchObject({ code: 'duplicate' });
    await expect(addDomain(store.pool, 'not a domain')).rejects.toMatchObject({ code: 'invalid' });
    expect(await ensureDomain(store.pool, 'example.org')).toEqual({ created: false });
    expect(await ensureDomain(store.pool, 'other.test')).toEqual({ created: true });
  });

  it('refuses to remove a domain that still has users', async () => {
    await addDomain(store.pool, 'busy.test');
    await createAccount(store.pool, 'bob@busy.test', 'pw');
    await expect(removeDomain(store.pool, 'busy.test')).rejects.toThrow(/still has 1 account/);
    await removeAccount(store.pool, 'bob@busy.test');
    await removeDomain(store.pool, 'busy.test');
    expect((await listDomains(store.pool)).map((d) => d.name)).not.toContain('busy.test');
    await expect(removeDomain(store.pool, 'busy.test')).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('accounts', () => {
  it('creates INBOX, Sent, Drafts, Trash, Junk and Archive with their special use', async () => {
    const account = await createAccount(store.pool, 'Alice@example.org', 'secret');
    expect(account).toMatchObject({ address: 'alice@example.org', domain: 'example.org', disabled: false });
    const mailboxes = await listMailboxes(store.pool, account.id);
    expect(mailboxes.map((m) => [m.name, m.specialUse, m.uidNext, m.subscribed])).toEqual([
      ['Archive', '\\Archive', 1, true],
      ['Drafts', '\\Drafts', 1, true],
      ['INBOX', null, 1, true],
      ['Junk', '\\Junk', 1, true],
      ['Sent', '\\Sent', 1, true],
      ['Trash', '\\Trash', 1, true],
    ]);
    expect(new Set(mailboxes.map((m) => m.uidValidity)).size).toBe(6);
  });

  it('never stores the password in clear, and derives every mechanism secret', async () => {
    await createAccount(store.pool, 'carol@example.org', 'hunter2-パス', legacy);
    const raw = await store.pool.query(`SELECT * FROM accounts WHERE address = 'carol@example.org'`);
    expect(JSON.stringify(raw.rows[0])).not.toContain('hunter2');
    const secrets = await findAuthSecrets(store.pool, 'CAROL@example.org', legacy);
    expect(secrets).toBeDefined();
    expect(await verifyScrypt(secrets!.scrypt, 'hunter2-パス')).toBe(true);
    expect(secrets!.cramMd5?.inner).toHaveLength(16);
    expect(secrets!.digestMd5).toMatchObject({ realm: 'example.org' });
    expect(secrets!.scramSha256.iterations).toBeGreaterThanOrEqual(4096);
    expect(secrets!.scramSha256.storedKey).toHaveLength(32);
  });

  it('changes the password and every derived secret with it', async () => {
    await createAccount(store.pool, 'dave@example.org', 'old', legacy);
    const before = await findAuthSecrets(store.pool, 'dave@example.org', legacy);
    await setPassword(store.pool, 'dave@example.org', 'new', legacy);
    const after = await findAuthSecrets(store.pool, 'dave@example.org', legacy);
    expect(await verifyScrypt(after!.scrypt, 'new')).toBe(true);
    expect(await verifyScrypt(after!.scrypt, 'old')).toBe(false);
    expect(after!.cramMd5!.inner.equals(before!.cramMd5!.inner)).toBe(false);
    expect(after!.scramSha256.storedKey.equals(before!.scramSha256.storedKey)).toBe(false);
    await expect(setPassword(store.pool, 'nobody@example.org', 'x')).rejects.toMatchObject({
      code: 'not_found',
    });
  });

  it('gives clear errors for a duplicate user, an unknown domain and a malformed address', async () => {
    await createAccount(store.pool, 'erin@example.org', 'pw');
    await expect(createAccount(store.pool, 'ERIN@example.org', 'pw')).rejects.toThrow(
      'user erin@example.org exists already',
    );
    await expect(createAccount(store.pool, 'erin@nowhere.test', 'pw')).rejects.toThrow(
      'unknown domain nowhere.test: add it first with `tegami domain add nowhere.test`',
    );
    await expect(createAccount(store.pool, 'erin', 'pw')).rejects.toThrow(/malformed address/);
    await expect(createAccount(store.pool, 'frank@example.org', '')).rejects.toThrow('the password is empty');
  });

  it('lists and removes users, removing their mailboxes', async () => {
    const account = await createAccount(store.pool, 'gone@example.org', 'pw');
    expect((await listAccounts(store.pool, 'example.org')).map((a) => a.address)).toContain(
      'gone@example.org',
    );
    await removeAccount(store.pool, 'gone@example.org');
    expect(await findAccount(store.pool, 'gone@example.org')).toBeUndefined();
    expect(await listMailboxes(store.pool, account.id)).toEqual([]);
    await expect(removeAccount(store.pool, 'gone@example.org')).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('listAccountUsage', () => {
  it('gives each account the bytes of its messages in every mailbox, beside its quota', async () => {
    await addDomain(store.pool, 'usage.test');
    const heavy = await createAccount(store.pool, 'heavy@usage.test', 'pw');
    await createAccount(store.pool, 'empty@usage.test', 'pw');
    await setQuota(store.pool, 'heavy@usage.test', 1024 * 1024);
    const mailboxes = await listMailboxes(store.pool, heavy.id);
    for (const [name, size] of [
      ['INBOX', 1000],
      ['INBOX', 2000],
      ['Archive', 500],
    ] as const) {
      const mailbox = mailboxes.find((m) => m.name === name)!;
      await appendMessage(store.pool, { mailboxId: mailbox.id, raw: Buffer.alloc(size, 'x') });
    }
    const usage = await listAccountUsage(store.pool, 'usage.test');
    expect(usage.map((a) => [a.address, a.usedBytes, a.quotaBytes])).toEqual([
      ['empty@usage.test', 0, null],
      ['heavy@usage.test', 3500, 1024 * 1024],
    ]);
    expect(usage[1]).toMatchObject({ id: heavy.id, domain: 'usage.test', disabled: false });
    // The count the quota check at delivery and APPEND uses.
    expect((await quotaUsage(store.pool, heavy.id))?.usedBytes).toBe(3500);
  });
});

describe('aliases', () => {
  it('fans out to several destinations and is removed in part or whole', async () => {
    await addAlias(store.pool, 'sales@example.org', ['alice@example.org', 'someone@remote.test']);
    await addAlias(store.pool, 'sales@example.org', ['carol@example.org']);
    expect(await findAlias(store.pool, 'Sales@Example.org')).toEqual({
      address: 'sales@example.org',
      destinations: ['alice@example.org', 'carol@example.org', 'someone@remote.test'],
    });
    await removeAlias(store.pool, 'sales@example.org', ['someone@remote.test']);
    expect(
      (await listAliases(store.pool)).find((a) => a.address === 'sales@example.org')?.destinations,
    ).toEqual(['alice@example.org', 'carol@example.org']);
    await removeAlias(store.pool, 'sales@example.org');
    expect(await findAlias(store.pool, 'sales@example.org')).toBeUndefined();
  });

  it('refuses an alias that is a user, a user that is an alias, and a duplicate destination', async () => {
    await expect(addAlias(store.pool, 'alice@example.org', ['carol@example.org'])).rejects.toThrow(
      /is a user already/,
    );
    await addAlias(store.pool, 'info@example.org', ['alice@example.org']);
    await expect(createAccount(store.pool, 'info@example.org', 'pw')).rejects.toThrow(/is an alias already/);
    await expect(addAlias(store.pool, 'info@example.org', ['alice@example.org'])).rejects.toThrow(
      /already points there/,
    );
    await expect(addAlias(store.pool, 'x@unknown.test', ['alice@example.org'])).rejects.toThrow(
      /unknown domain/,
    );
  });
});
