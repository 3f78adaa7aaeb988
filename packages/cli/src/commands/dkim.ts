import type { DkimAlgorithm, DkimRecordMatch } from '@tegami/protocol/dkim';
import type { DkimKey, SecretsKeyring } from '@tegami/store';
import { type CommandContext, type CommandGroup, UsageError } from '../command.js';
import { JSON_OPTION, printJson } from '../json-output.js';
import { printTable } from '../table.js';
import type { TxtLookup } from '../txt-lookup.js';

export const dkimCommands: CommandGroup = {
  title: 'DKIM signing keys',
  word: 'dkim',
  description: `The keys that sign the mail of a local domain (DKIM, RFC 6376; rsa-sha256 and
ed25519-sha256, RFC 8463). The delivery-worker signs each message leaving for another domain
with every active key of its From domain, so a domain with both keys carries both
signatures. Private keys are stored sealed with TEGAMI_SECRETS_KEY_FILE.`,
  commands: [
    {
      name: 'dkim create',
      usage: ['<domain> [--selector=<selector>] [--algorithm=<rsa|ed25519>]'],
      summary: 'make a signing key and print the DNS record to publish',
      description: `Makes a key for <domain> (rsa: 2048-bit rsa-sha256, the default; ed25519:
ed25519-sha256) that signs the domain's outgoing mail from now on, and prints the TXT record
that publishes it. Until that record is in DNS, receivers treat the signature as absent;
\`tegami dkim check\` says when it is. Refused when the domain signs with that algorithm already
(rotate replaces a key) and when there is no secrets key (TEGAMI_SECRETS_KEY_FILE).`,
      options: {
        '--selector': 'the selector (default rsa-<yyyymmdd> or ed25519-<yyyymmdd>)',
        '--algorithm': 'rsa (default) or ed25519',
      },
      examples: ['tegami dkim create example.com', 'tegami dkim create example.com --algorithm ed25519'],
      run: async (args, ctx) => {
        const { createDkimKey } = await import('@tegami/store');
        const keyring = await requireKeyring(ctx);
        const key = await createDkimKey((await ctx.store()).pool, keyring, {
          domain: args.one('domain'),
          algorithm: algorithmOf(args.value('--algorithm')) ?? 'rsa-sha256',
          selector: args.value('--selector'),
        });
        ctx.print(
          `created the ${key.algorithm} key ${key.selector} of ${key.domain}: it signs the domain's mail from now on`,
        );
        await printRecord(ctx, key);
        return 0;
      },
    },
    {
      name: 'dkim list',
      usage: ['[<domain>] [--json]'],
      summary: 'keys with their algorithm, state and DNS name',
      description: `Lists the DKIM keys of every domain, or of <domain>: active keys sign; a retiring
key (after a rotation) signs no more but keeps its DNS record for its grace period, so mail
it signed still verifies; once that is over the list says it can be deleted.`,
      options: JSON_OPTION,
      examples: ['tegami dkim list', 'tegami dkim list example.com --json'],
      run: async (args, ctx) => {
        const { listDkimKeys } = await import('@tegami/store');
        const { dkimRecordName } = await import('@tegami/protocol/dkim');
        const keys = await listDkimKeys((await ctx.store()).pool, args.optional('domain'));
        const now = new Date();
        if (args.has('--json')) {
          printJson(
            ctx.print,
            keys.map((k) => ({
              domain: k.domain,
              selector: k.selector,
              algorithm: k.algorithm,
              state: stateOf(k, now),
              createdAt: k.createdAt,
              dnsName: dkimRecordName(k.selector, k.domain),
            })),
          );
          return 0;
        }
        printTable(
          ctx.print,
          ['DOMAIN', 'SELECTOR', 'ALGORITHM', 'STATE', 'CREATED', 'DNS NAME'],
          keys.map((k) => [
            k.domain,
            k.selector,
            k.algorithm,
            stateOf(k, now),
            isoMinute(k.createdAt),
            dkimRecordName(k.selector, k.domain),
          ]),
        );
        return 0;
      },
    },
    {
      name: 'dkim rotate',
      usage: ['<domain> [--algorithm=<rsa|ed25519>] [--selector=<selector>] [--grace=<duration>]'],
      summary: 'replace the signing keys; the old ones retire after a grace period',
      description: `Makes a new key for each algorithm the domain signs with (or only --algorithm's),
which signs from now on (every worker within a minute), and prints its record to publish. The
old key becomes retiring: keep its record in DNS for the grace period (default 7 days), so
mail it signed that is still on its way verifies; then \`tegami dkim delete\` it and remove
its record. Publish the new record before mail signed with it arrives: rotate, publish, check.`,
      options: {
        '--algorithm': 'rotate only the rsa or the ed25519 key',
        '--selector': "the new key's selector (with one algorithm)",
        '--grace': 'how long the old key stays published: 7d (default), 48h, 30m',
      },
      examples: [
        'tegami dkim rotate example.com',
        'tegami dkim rotate example.com --algorithm rsa --grace 14d',
      ],
      run: async (args, ctx) => {
        const { rotateDkimKeys } = await import('@tegami/store');
        const { dkimRecordName } = await import('@tegami/protocol/dkim');
        const keyring = await requireKeyring(ctx);
        const { created, retiring } = await rotateDkimKeys((await ctx.store()).pool, keyring, {
          domain: args.one('domain'),
          algorithm: algorithmOf(args.value('--algorithm')),
          selector: args.value('--selector'),
          graceMs: graceOf(args.value('--grace')),
        });
        for (const key of retiring) {
          ctx.print(
            `retiring the ${key.algorithm} key ${key.selector}: keep ${dkimRecordName(key.selector, key.domain)} published until ${isoMinute(key.retireUntil!)}, then tegami dkim delete ${key.domain} ${key.selector}`,
          );
        }
        for (const key of created) {
          ctx.print(
            `created the ${key.algorithm} key ${key.selector}: it signs ${key.domain}'s mail from now on`,
          );
          await printRecord(ctx, key);
        }
        return 0;
      },
    },
    {
      name: 'dkim delete',
      usage: ['<domain> <selector>'],
      summary: 'remove a key (then remove its DNS record)',
      description: `Removes a key. Once its DNS record is gone too, mail it signed no longer verifies:
delete a retiring key after its grace period. An active key can be deleted (one that leaked
must go at once): the domain's mail is then signed without it, or not at all.`,
      examples: ['tegami dkim delete example.com rsa-20250114'],
      run: async (args, ctx) => {
        const { deleteDkimKey } = await import('@tegami/store');
        const { dkimRecordName } = await import('@tegami/protocol/dkim');
        const key = await deleteDkimKey((await ctx.store()).pool, args.one('domain'), args.one('selector'));
        ctx.print(
          `deleted the ${key.algorithm} key ${key.selector} of ${key.domain}: remove the TXT record ${dkimRecordName(key.selector, key.domain)}`,
        );
        if (key.state === 'active') {
          ctx.warn(
            `tegami: ${key.domain}'s mail is no longer signed with ${key.algorithm} (within a minute)`,
          );
        } else if (key.retireUntil && key.retireUntil > new Date()) {
          ctx.warn(
            `tegami: its grace period ran until ${isoMinute(key.retireUntil)}: mail it signed lately fails to verify once the record is gone`,
          );
        }
        return 0;
      },
    },
    {
      name: 'dkim check',
      usage: ['<domain>'],
      summary: "look each key's DNS record up: published, missing or different",
      description: `Looks up the TXT record of each key of <domain> through Tegami's dns-resolver
(TEGAMI_RESOLVER_TARGET; the standalone's own while it runs; else this machine's resolver,
with a note) and says for each whether it publishes that very key. Exits 1 when an active
key is not published as it should be, or when the domain has no key. Then it checks the
records a receiver reads beside DKIM: SPF, DMARC (_dmarc), MTA-STS (_mta-sts, its id against
the policy TEGAMI_MTA_STS_* describe) and TLS-RPT (_smtp._tls), printing a record to publish
for each one missing or wrong; an invalid one (two SPF records, a DMARC record without p=)
also makes it exit 1. The resolver keeps answers for their TTL: a record just published may
take that long to be seen.`,
      examples: ['tegami dkim check example.com'],
      run: async (args, ctx) => {
        const { listDkimKeys, StoreError } = await import('@tegami/store');
        const { dkimRecordName, matchDkimRecords } = await import('@tegami/protocol/dkim');
        const domain = args.one('domain');
        const keys = await listDkimKeys((await ctx.store()).pool, domain);
        if (keys.length === 0) {
          throw new StoreError(
            'not_found',
            `${domain.toLowerCase()} has no DKIM key: make one with tegami dkim create`,
          );
        }
        const lookup = await ctx.txtLookup();
        let wrong = 0;
        const rows: string[][] = [];
        let others: Awaited<ReturnType<typeof checkOtherRecords>> = [];
        try {
          for (const key of keys) {
            const name = dkimRecordName(key.selector, key.domain);
            const answer = await lookup.lookup(name);
            let verdict: string;
            let good = false;
            if (answer.kind === 'failed') verdict = `lookup failed: ${answer.detail}`;
            else {
              const match = matchDkimRecords(answer.kind === 'records' ? answer.records : [], key);
              good = match.kind === 'published';
              verdict = describeMatch(match, key);
            }
            if (!good && key.state === 'active') wrong++;
            rows.push([key.selector, key.algorithm, key.state, verdict]);
          }
          others = await checkOtherRecords(domain.toLowerCase(), lookup, ctx);
        } finally {
          lookup.close();
        }
        const note = lookup.note();
        if (note) ctx.warn(`tegami: ${note}`);
        printTable(ctx.print, ['SELECTOR', 'ALGORITHM', 'STATE', 'DNS'], rows);
        // The records DKIM works with: a receiver judges the domain by all of them.
        ctx.print('');
        printTable(
          ctx.print,
          ['RECORD', 'NAME', 'STATUS', 'DETAIL'],
          others.map((c) => [c.kind, c.name, c.status, c.detail]),
        );
        for (const c of others) if (c.suggestion && c.status !== 'ok') ctx.print(`publish: ${c.suggestion}`);
        const invalid = others.filter((c) => c.status === 'invalid');
        if (invalid.length > 0) {
          ctx.warn(
            `tegami: ${invalid.map((c) => c.kind).join(', ')} of ${domain.toLowerCase()} is invalid: receivers ignore it`,
          );
          wrong += invalid.length;
        }
        if (wrong > 0) {
          ctx.warn(
            `tegami: ${wrong} active key${wrong === 1 ? ' is' : 's are'} not published as ${wrong === 1 ? 'it' : 'they'} should be: tegami dkim list shows the names, and create/rotate printed the records`,
          );
          return 1;
        }
        return 0;
      },
    },
  ],
};

/** SPF, DMARC, MTA-STS (against the policy these settings serve) and TLS-RPT of `domain`. */
async function checkOtherRecords(domain: string, lookup: TxtLookup, ctx: CommandContext) {
  const [{ checkMailDnsRecords }, { mtaStsPolicyId, renderMtaStsPolicy }] = await Promise.all([
    import('../mail-dns-records.js'),
    import('@tegami/protocol'),
  ]);
  const policy = ctx.config.mtaStsPolicy;
  return checkMailDnsRecords(
    domain,
    async (name) => {
      const answer = await lookup.lookup(name);
      if (answer.kind === 'failed') return { kind: 'error', detail: answer.detail };
      if (answer.kind === 'none') return { kind: 'none' };
      // RFC 7208 §3.3 and kin: a record's strings are read joined, without spaces.
      return { kind: 'records', records: answer.records.map((strings) => strings.join('')) };
    },
    {
      reportAddress: `postmaster@${domain}`,
      mtaStsPolicyId:
        policy && policy.mode !== 'none' ? mtaStsPolicyId(renderMtaStsPolicy(policy)) : undefined,
    },
  );
}

async function requireKeyring(ctx: CommandContext): Promise<SecretsKeyring> {
  const keyring = await ctx.secretsKeyring();
  if (keyring) return keyring;
  const { StoreError } = await import('@tegami/store');
  throw new StoreError(
    'invalid',
    'no secrets key to seal the private key with: set TEGAMI_SECRETS_KEY_FILE to the key file the delivery-worker reads (the standalone makes one in its data directory on its first start)',
  );
}

async function printRecord(ctx: CommandContext, key: DkimKey): Promise<void> {
  const { dkimRecordName, dkimRecordValue, zoneFileTxtLine } = await import('@tegami/protocol/dkim');
  const name = dkimRecordName(key.selector, key.domain);
  const value = dkimRecordValue(key.algorithm, key.publicKey);
  ctx.print(`publish this TXT record, then run: tegami dkim check ${key.domain}`);
  ctx.print(`  name:  ${name}`);
  ctx.print(`  value: ${value}`);
  ctx.print('as a zone file line (strings of at most 255 octets):');
  ctx.print(zoneFileTxtLine(name, value));
}

function algorithmOf(value: string | undefined): DkimAlgorithm | undefined {
  if (value === undefined) return undefined;
  const lower = value.toLowerCase();
  if (lower === 'rsa' || lower === 'rsa-sha256') return 'rsa-sha256';
  if (lower === 'ed25519' || lower === 'ed25519-sha256') return 'ed25519-sha256';
  throw new UsageError(`--algorithm is rsa or ed25519, not "${value}"`);
}

const GRACE_UNITS: Readonly<Record<string, number>> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 };
// Longer than any message stays queued anywhere, with room; longer than this is a typo.
const MAX_GRACE_MS = 366 * 86_400_000;

function graceOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d{1,6})\s*([dhms])$/i.exec(value.trim());
  const ms = match ? Number(match[1]) * GRACE_UNITS[match[2]!.toLowerCase()]! : Number.NaN;
  if (!(ms <= MAX_GRACE_MS))
    throw new UsageError(`--grace is a duration of at most 366d, like 7d or 48h, not "${value}"`);
  return ms;
}

function stateOf(key: DkimKey, now: Date): string {
  if (key.state === 'active') return 'active';
  return key.retireUntil && key.retireUntil > now
    ? `retiring until ${isoMinute(key.retireUntil)}`
    : 'retired: delete it and its record';
}

function describeMatch(match: DkimRecordMatch, key: DkimKey): string {
  switch (match.kind) {
    case 'published':
      return match.testing ? 'published (t=y: receivers treat it as a test)' : 'published';
    case 'missing':
      return key.state === 'active'
        ? 'missing: publish the record that create or rotate printed'
        : 'missing (mail it signed no longer verifies)';
    case 'revoked':
      return 'revoked (empty p=)';
    case 'different':
      return `different key: ${match.detail}`;
    case 'invalid':
      return `invalid record: ${match.detail}`;
    case 'ambiguous':
      return `${match.count} DKIM records at the name: keep only this key's`;
  }
}

function isoMinute(date: Date): string {
  return `${date.toISOString().slice(0, 16)}Z`;
}
