import type { Queryable } from './db.js';

// A limit on concurrent connections to one destination domain that holds across every
// delivery-worker replica: each connection holds one of `limit` rows for the domain.
// Leases expire, so a worker that dies frees its slots without anyone's help.

/** Takes a free (or expired) slot for the destination; undefined when all are held. */
export async function acquireDestinationSlot(
  db: Queryable,
  destination: string,
  limit: number,
  holder: string,
  leaseMs: number,
): Promise<number | undefined> {
  const result = await db.query<{ slot: number }>(
    `INSERT INTO destination_slots AS s (destination, slot, holder, expires_at)
     SELECT $1, n, $3, now() + make_interval(secs => $4::double precision / 1000)
       FROM generate_series(0, $2::integer - 1) AS n
      WHERE NOT EXISTS (SELECT 1 FROM destination_slots x
                         WHERE x.destination = $1 AND x.slot = n AND x.expires_at >= now())
      ORDER BY random()
      LIMIT 1
     ON CONFLICT (destination, slot) DO UPDATE
        SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
      WHERE s.expires_at < now()
     RETURNING slot`,
    [destination, limit, holder, leaseMs],
  );
  return result.rows[0]?.slot;
}

export async function renewDestinationSlot(
  db: Queryable,
  destination: string,
  slot: number,
  holder: string,
  leaseMs: number,
): Promise<void> {
  await db.query(
    `UPDATE destination_slots SET expires_at = now() + make_interval(secs => $4::double precision / 1000)
      WHERE destination = $1 AND slot = $2 AND holder = $3`,
    [destination, slot, holder, leaseMs],
  );
}

export async function releaseDestinationSlot(
  db: Queryable,
  destination: string,
  slot: number,
  holder: string,
): Promise<void> {
  await db.query('DELETE FROM destination_slots WHERE destination = $1 AND slot = $2 AND holder = $3', [
    destination,
    slot,
    holder,
  ]);
}
