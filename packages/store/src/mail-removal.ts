import type pg from 'pg';
import { type CollectedBlobs, collectBlobsOf } from './blob-collection.js';
import { withTransaction } from './db.js';
import { domainName } from './domains.js';
import { StoreError } from './errors.js';

/** What removing users took with them: what `tegami user remove` and `domain remove` print. */
export interface RemovedMail {
  readonly mailboxes: number;
  readonly messages: number;
  /** The sizes of the messages removed, as the quota counts them. */
  readonly bytes: number;
  /** The blobs no other message or queue entry held, deleted with them. */
  readonly blobs: CollectedBlobs;
}

export const NO_MAIL_REMOVED: RemovedMail = {
  mailboxes: 0,
  messages: 0,
  bytes: 0,
  blobs: { blobs: 0, bytes: 0 },
};

/**
 * The accounts' mail, counted before they are deleted (their mailboxes and messages go by
 * ON DELETE CASCADE), and the blobs they referenced, to collect afterwards.
 */
export interface MailToRemove {
  readonly mailboxes: number;
  readonly messages: number;
  readonly bytes: number;
  readonly sha256s: readonly Buffer[];
}

export async function mailOfAccounts(
  client: pg.PoolClient,
  accountIds: readonly string[],
): Promise<MailToRemove> {
  const result = await client.query<{
    mailboxes: string;
    messages: string;
    bytes: string | null;
    shas: Buffer[] | null;
  }>(
    `SELECT (SELECT count(*) FROM mailboxes WHERE account_id = ANY($1::bigint[])) AS mailboxes,
            count(m.*) AS messages, sum(m.size) AS bytes, array_agg(DISTINCT m.blob_sha256) AS shas
       FROM mailboxes b JOIN messages m ON m.mailbox_id = b.id
      WHERE b.account_id = ANY($1::bigint[])`,
    [accountIds],
  );
  const row = result.rows[0]!;
  return {
    mailboxes: Number(row.mailboxes),
    messages: Number(row.messages),
    bytes: Number(row.bytes ?? 0),
    sha256s: row.shas ?? [],
  };
}

/** After the accounts are deleted, in the same transaction: their blobs nothing else holds go too. */
export async function finishMailRemoval(client: pg.PoolClient, mail: MailToRemove): Promise<RemovedMail> {
  const blobs = await collectBlobsOf(client, mail.sha256s, 0);
  return { mailboxes: mail.mailboxes, messages: mail.messages, bytes: mail.bytes, blobs };
}

export interface RemovedDomain extends RemovedMail {
  readonly users: number;
  readonly aliases: number;
}

/**
 * `tegami domain remove --with-users`: the domain with its users and all their mail, its
 * aliases and DKIM keys, in one transaction. Refused while an alias of another domain
 * delivers to one of its users (refuseWhileDestination's reason: it would accept and bounce).
 */
export async function removeDomainWithUsers(pool: pg.Pool, input: string): Promise<RemovedDomain> {
  const name = domainName(input);
  return withTransaction(pool, async (client) => {
    const domain = await client.query<{ id: string }>('SELECT id FROM domains WHERE name = $1 FOR UPDATE', [
      name,
    ]);
    const domainId = domain.rows[0]?.id;
    if (domainId === undefined) throw new StoreError('not_found', `no domain ${name}`);
    const accounts = await client.query<{ id: string; address: string }>(
      'SELECT id, address FROM accounts WHERE domain_id = $1 ORDER BY id FOR UPDATE',
      [domainId],
    );
    const outside = await client.query<{ address: string; destination: string }>(
      `SELECT x.address, x.destination FROM aliases x JOIN accounts a ON a.address = x.destination
        WHERE a.domain_id = $1 AND x.domain_id <> $1 ORDER BY x.address LIMIT 1`,
      [domainId],
    );
    const first = outside.rows[0];
    if (first) {
      throw new StoreError(
        'conflict',
        `user ${first.destination} is a destination of the alias ${first.address} in another domain. Point it ` +
          `elsewhere first (\`tegami alias remove ${first.address} ${first.destination}\`)`,
      );
    }
    const mail = await mailOfAccounts(
      client,
      accounts.rows.map((a) => a.id),
    );
    const aliases = await client.query<{ address: string }>(
      'DELETE FROM aliases WHERE domain_id = $1 RETURNING address',
      [domainId],
    );
    await client.query('DELETE FROM accounts WHERE domain_id = $1', [domainId]);
    await client.query('DELETE FROM domains WHERE id = $1', [domainId]);
    const removed = await finishMailRemoval(client, mail);
    return {
      ...removed,
      users: accounts.rows.length,
      aliases: new Set(aliases.rows.map((r) => r.address)).size,
    };
  });
}
