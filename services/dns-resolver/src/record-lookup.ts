import { ResolveStatus } from '@tegami/rpc';
import type dnsPacket from 'dns-packet';
import { AnswerCache } from './answer-cache.js';
import type { DnsResponse, QueryType, UpstreamClient, UpstreamOutcome } from './upstream.js';

/** The data of each record type asked for, as dns-packet decodes it. */
export interface RecordData {
  MX: { preference: number; exchange: string };
  A: string;
  AAAA: string;
  TXT: Buffer[];
  /** The host name a PTR record points to, as the server wrote it. */
  PTR: string;
  TLSA: { usage: number; selector: number; matchingType: number; certificate: Buffer };
}

export interface FoundRecord<T> {
  readonly data: T;
  /** The TTL left now, in seconds. */
  readonly ttlSeconds: number;
}

/**
 * The outcome of one lookup of one name and type, after following CNAMEs. `authenticated`:
 * every upstream answer it was made of had the AD bit (RFC 4035 §3.2.3), so the records, or
 * the NXDOMAIN or NODATA, were proved with DNSSEC by the upstream; never for a failure.
 */
export type Lookup<T> =
  | {
      readonly status: ResolveStatus.RESOLVE_STATUS_OK;
      readonly records: readonly FoundRecord<T>[];
      readonly authenticated: boolean;
    }
  | {
      readonly status: Exclude<ResolveStatus, ResolveStatus.RESOLVE_STATUS_OK>;
      readonly detail: string;
      readonly authenticated: boolean;
    };

export interface LookupObserver {
  cache(result: 'hit' | 'miss' | 'coalesced', type: QueryType): void;
}

export interface RecordLookupOptions {
  readonly upstream: Pick<UpstreamClient, 'query'>;
  /** Most answers kept (positive and negative together). */
  readonly cacheEntries: number;
  /** Longest a negative answer (NXDOMAIN, NODATA) is kept, whatever its SOA says. */
  readonly negativeTtlMaxMs: number;
  readonly observer?: LookupObserver;
  readonly now?: () => number;
}

/** What the cache holds: records with the TTLs they came with and when they came, and the AD flag. */
type Stored =
  | {
      readonly status: ResolveStatus.RESOLVE_STATUS_OK;
      readonly records: readonly { data: unknown; ttl: number }[];
      readonly fetchedAt: number;
      readonly authenticated: boolean;
    }
  | {
      readonly status: Exclude<ResolveStatus, ResolveStatus.RESOLVE_STATUS_OK>;
      readonly detail: string;
      readonly authenticated: boolean;
    };

/** With a cache lifetime: how long the answer may be kept (0: not at all). */
type Fetched = { readonly stored: Stored; readonly ttlMs: number };

// Enough for any sane chain; a longer one is a misconfiguration or a loop.
const MAX_CNAME_HOPS = 8;
// RFC 8767 §4 suggests capping positive TTLs at 7 days; a day is plenty for mail routing.
const MAX_POSITIVE_TTL_SECONDS = 86_400;
// RFC 2181 §8: a TTL with the top bit set is to be read as zero.
const MAX_TTL = 0x7fff_ffff;

/**
 * Looks records up through the cache: answers are kept as long as their TTLs allow,
 * negative answers as long as their SOA allows (RFC 2308 §5) up to a cap, and concurrent
 * lookups of the same name and type share one upstream query. Failures (SERVFAIL,
 * REFUSED, timeouts) are not kept: the next lookup asks again.
 */
export class RecordLookup {
  private readonly cache: AnswerCache<Stored>;
  private readonly inFlight = new Map<string, Promise<Stored>>();
  private readonly now: () => number;

  constructor(private readonly options: RecordLookupOptions) {
    this.now = options.now ?? Date.now;
    this.cache = new AnswerCache(options.cacheEntries, this.now);
  }

  get cachedEntries(): number {
    return this.cache.size;
  }

  async lookup<T extends QueryType>(name: string, type: T): Promise<Lookup<RecordData[T]>> {
    const stored = await this.stored(name, type);
    if (stored.status !== ResolveStatus.RESOLVE_STATUS_OK) return stored;
    const elapsed = Math.floor((this.now() - stored.fetchedAt) / 1000);
    return {
      status: stored.status,
      records: stored.records.map((r) => ({
        data: r.data as RecordData[T],
        ttlSeconds: Math.max(0, r.ttl - elapsed),
      })),
      authenticated: stored.authenticated,
    };
  }

  private stored(name: string, type: QueryType): Promise<Stored> {
    const key = `${type} ${name}`;
    const cached = this.cache.get(key);
    if (cached) {
      this.options.observer?.cache('hit', type);
      return Promise.resolve(cached);
    }
    const pending = this.inFlight.get(key);
    if (pending) {
      this.options.observer?.cache('coalesced', type);
      return pending;
    }
    this.options.observer?.cache('miss', type);
    const started = this.fetch(name, type).then(({ stored, ttlMs }) => {
      this.cache.set(key, stored, ttlMs);
      return stored;
    });
    this.inFlight.set(key, started);
    // Removed once settled, so a failure is asked again by the next lookup.
    const forget = () => this.inFlight.delete(key);
    started.then(forget, forget);
    return started;
  }

  /**
   * Asks upstream and follows CNAMEs: through the chain in the answer when the server gave
   * it, and by asking for the target when the chain stops short of it.
   */
  private async fetch(name: string, type: QueryType): Promise<Fetched> {
    const fetchedAt = this.now();
    const seen = new Set([name]);
    let chainTtl = MAX_POSITIVE_TTL_SECONDS;
    // A chain of CNAMEs is only as authenticated as its least authenticated answer.
    let authenticated = true;
    let current = name;
    for (let hops = 0; ; ) {
      const outcome = await this.options.upstream.query(current, type);
      const failure = failureOf(outcome, current, type);
      if (failure) return failure;
      const { response, server } = outcome as Extract<UpstreamOutcome, { kind: 'answer' }>;
      const answers = response.answers ?? [];
      const from = `${type} ${current} from ${server}`;
      authenticated &&= response.flag_ad === true;

      if (response.rcode === 'NXDOMAIN') {
        return this.negative(
          ResolveStatus.RESOLVE_STATUS_NXDOMAIN,
          `${from}: NXDOMAIN`,
          response,
          chainTtl,
          authenticated,
        );
      }
      // Walk the chain the answer holds from the name asked.
      let owner = current;
      for (;;) {
        const records = answers.filter(
          (a): a is Exclude<dnsPacket.Answer, dnsPacket.OptAnswer> =>
            a.type === type && sameName(a.name, owner),
        );
        if (records.length > 0) {
          const ttls = records.map((r) => ttlOf(r.ttl));
          return {
            stored: {
              status: ResolveStatus.RESOLVE_STATUS_OK,
              records: records.map((r) => ({ data: dataOf(r), ttl: ttlOf(r.ttl) })),
              fetchedAt,
              authenticated,
            },
            ttlMs: Math.min(chainTtl, ...ttls) * 1000,
          };
        }
        const alias = answers.find(
          (a): a is dnsPacket.StringAnswer => a.type === 'CNAME' && sameName(a.name, owner),
        );
        if (!alias) break;
        const target = alias.data.toLowerCase().replace(/\.$/, '');
        if (seen.has(target)) return failed(`${from}: CNAME loop at ${target}`);
        if (++hops > MAX_CNAME_HOPS) return failed(`${from}: more than ${MAX_CNAME_HOPS} CNAMEs`);
        seen.add(target);
        chainTtl = Math.min(chainTtl, ttlOf(alias.ttl));
        owner = target;
      }
      // No records at the end of the chain. With an SOA the server says the last name has
      // none (NODATA); without one it did not follow the chain to its end: ask for the target.
      if (owner === current || soaOf(response)) {
        return this.negative(
          ResolveStatus.RESOLVE_STATUS_NO_DATA,
          `${from}: no ${type} records`,
          response,
          chainTtl,
          authenticated,
        );
      }
      current = owner;
    }
  }

  /** RFC 2308 §5: a negative answer lives min(SOA TTL, SOA MINIMUM), here also capped. */
  private negative(
    status: ResolveStatus.RESOLVE_STATUS_NXDOMAIN | ResolveStatus.RESOLVE_STATUS_NO_DATA,
    detail: string,
    response: DnsResponse,
    chainTtl: number,
    authenticated: boolean,
  ): Fetched {
    const soa = soaOf(response);
    // Without an SOA the answer must not be cached (RFC 2308 §5).
    const ttlSeconds = soa ? Math.min(ttlOf(soa.ttl), ttlOf(soa.data.minimum ?? 0), chainTtl) : 0;
    return {
      stored: { status, detail, authenticated },
      ttlMs: Math.min(ttlSeconds * 1000, this.options.negativeTtlMaxMs),
    };
  }
}

function failureOf(outcome: UpstreamOutcome, name: string, type: QueryType): Fetched | undefined {
  if (outcome.kind === 'timeout' || outcome.kind === 'network') {
    return {
      stored: {
        status: ResolveStatus.RESOLVE_STATUS_TIMEOUT,
        detail: `${type} ${name}: ${outcome.detail}`,
        authenticated: false,
      },
      ttlMs: 0,
    };
  }
  const rcode = outcome.response.rcode;
  const detail = `${type} ${name} from ${outcome.server}: ${rcode}`;
  if (rcode === 'REFUSED')
    return {
      stored: { status: ResolveStatus.RESOLVE_STATUS_REFUSED, detail, authenticated: false },
      ttlMs: 0,
    };
  if (rcode !== 'NOERROR' && rcode !== 'NXDOMAIN') return failed(detail);
  return undefined;
}

function failed(detail: string): Fetched {
  // RFC 7672 §2.1.1: a validating upstream answers SERVFAIL for bogus data; like any failure,
  // it is temporary and proves nothing.
  return {
    stored: { status: ResolveStatus.RESOLVE_STATUS_SERVFAIL, detail, authenticated: false },
    ttlMs: 0,
  };
}

function soaOf(response: DnsResponse): dnsPacket.SoaAnswer | undefined {
  return (response.authorities ?? []).find((a): a is dnsPacket.SoaAnswer => a.type === 'SOA');
}

function sameName(a: string, b: string): boolean {
  return a.toLowerCase().replace(/\.$/, '') === b;
}

function ttlOf(ttl: number | undefined): number {
  const value = ttl ?? 0;
  return value > MAX_TTL ? 0 : Math.min(value, MAX_POSITIVE_TTL_SECONDS);
}

function dataOf(answer: dnsPacket.Answer): unknown {
  if (answer.type === 'MX') {
    return { preference: answer.data.preference ?? 0, exchange: answer.data.exchange };
  }
  if (answer.type === 'TLSA') {
    const { usage, selector, matchingType, certificate } = answer.data;
    return { usage, selector, matchingType, certificate };
  }
  if (answer.type === 'TXT') {
    const data = answer.data;
    const strings = Array.isArray(data) ? data : [data];
    return strings.map((s) => (typeof s === 'string' ? Buffer.from(s) : s));
  }
  return 'data' in answer ? answer.data : undefined;
}
