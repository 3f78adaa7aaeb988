/**
 * The one catalogue of every environment variable Tegami reads. The readers in read.ts take
 * their defaults from here and refuse a name that is missing, the unknown-setting check
 * accepts exactly these `TEGAMI_*` names, and the README's configuration table is rendered
 * from it: a new setting is one entry below and nowhere else.
 */

import { getServers } from 'node:dns';
import { hostname } from 'node:os';
import { DEFAULT_TLS12_CIPHERS } from '../tls.js';

export type ServiceName =
  | 'smtp-ingress'
  | 'delivery-worker'
  | 'dns-resolver'
  | 'pop-gateway'
  | 'imap-gateway'
  | 'standalone'
  | 'cli';

/** A default that depends on the machine, so the table shows words and the reader computes it. */
export interface ComputedDefault {
  readonly text: string;
  readonly compute: () => string;
}

export interface VariableSpec {
  readonly name: string;
  /** Used when the variable is unset or empty. No default: the reader decides (required or optional). */
  readonly default?: string | ComputedDefault;
  /** Replaces `default` when the standalone reads the variable (it binds loopback, for one). */
  readonly standaloneDefault?: string;
  readonly description: string;
  readonly services: readonly ServiceName[];
}

// Groups of services, so each entry below says who reads it without a long list.
const STORE_USERS = ['smtp-ingress', 'delivery-worker', 'pop-gateway', 'imap-gateway'] as const;
const BUS_USERS = STORE_USERS;
const SERVICES = ['smtp-ingress', 'delivery-worker', 'dns-resolver', 'pop-gateway', 'imap-gateway'] as const;
const PROGRAMS = [...SERVICES, 'standalone'] as const;
const TLS_SERVERS = ['smtp-ingress', 'pop-gateway', 'imap-gateway', 'standalone'] as const;
const LOGIN_SERVERS = TLS_SERVERS;
const SMTP = ['smtp-ingress', 'standalone'] as const;
const PROXIED = ['smtp-ingress', 'pop-gateway', 'imap-gateway'] as const;
const LOGIN_TAKERS = ['smtp-ingress', 'pop-gateway', 'imap-gateway', 'standalone'] as const;
const GREETERS = ['smtp-ingress', 'delivery-worker', 'pop-gateway', 'imap-gateway', 'standalone'] as const;

export const VARIABLES: readonly VariableSpec[] = [
  {
    name: 'DATABASE_URL',
    description:
      "Postgres connection URL of the message store (`postgres://user:password@host:5432/tegami`; percent-encode special characters in the password). Required by the services; the CLI falls back to the standalone's embedded database when it is unset. The standalone embeds its own Postgres and ignores it.",
    services: [...STORE_USERS, 'cli'],
  },
  {
    name: 'NATS_URL',
    default: 'nats://127.0.0.1:4222',
    description:
      'NATS server(s): `nats://` or `tls://` URLs, comma-separated. The standalone uses an in-process bus instead; `tegami check` checks it when `DATABASE_URL` is set.',
    services: [...BUS_USERS, 'cli'],
  },
  {
    name: 'TEGAMI_NATS_PREFIX',
    default: 'tegami',
    description:
      'Prefix of every NATS subject and stream name, so several installations (or test runs) share one NATS server.',
    services: [...BUS_USERS, 'cli'],
  },
  {
    name: 'TEGAMI_LOG_LEVEL',
    default: 'info',
    description:
      'Log level of the JSON logs on standard output: `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`.',
    services: PROGRAMS,
  },
  {
    name: 'TEGAMI_OPS_HOST',
    default: '0.0.0.0',
    standaloneDefault: '127.0.0.1',
    description: 'Address the ops HTTP server (`/healthz`, `/readyz`, `/metrics`) listens on.',
    services: PROGRAMS,
  },
  {
    name: 'TEGAMI_OPS_PORT',
    default: '8080',
    description: 'Port of the ops HTTP server (0 picks a free one).',
    services: PROGRAMS,
  },
  {
    name: 'TEGAMI_SHUTDOWN_TIMEOUT_MS',
    default: '30000',
    description:
      'How long a graceful shutdown (SIGTERM, SIGINT) may take before the process exits with code 1. Milliseconds, or with a unit: `30s`, `2m`.',
    services: PROGRAMS,
  },
  {
    name: 'TEGAMI_PROXY_PROTOCOL',
    default: 'false',
    description:
      'Expect a PROXY protocol header (v1 or v2, as HAProxy and cloud load balancers send) on every connection from `TEGAMI_PROXY_TRUSTED_CIDRS`, and use the client address it carries. A connection from elsewhere is served as it is, and closed if it sends a PROXY header.',
    services: PROXIED,
  },
  {
    name: 'TEGAMI_PROXY_TRUSTED_CIDRS',
    description:
      'Comma-separated addresses and CIDR ranges of the load balancers allowed to send PROXY headers (`10.0.0.0/8,fd00::/8`). Required when `TEGAMI_PROXY_PROTOCOL` is true.',
    services: PROXIED,
  },
  {
    name: 'TEGAMI_AUTH_FAILURE_DELAY_MAX',
    default: '15s',
    description:
      'Per-account login delay (SMTP AUTH, POP3, IMAP, across all replicas): once a user name has had more than `TEGAMI_AUTH_FREE_FAILURES` attempts lately from addresses that never logged in to it, each further attempt from such an address is answered only after a delay that doubles from 1 s up to this cap, queued behind the others (an attempt that would wait over twice the cap is told to try again later). Addresses that logged in to the account in the last 30 days are answered at once. `0` turns it off.',
    services: LOGIN_TAKERS,
  },
  {
    name: 'TEGAMI_AUTH_FREE_FAILURES',
    default: '3',
    description:
      'Login attempts on one user name from addresses not known for it that are answered without the per-account delay (within 15 minutes of the last one).',
    services: LOGIN_TAKERS,
  },
  {
    name: 'TEGAMI_AUTH_CACHE_TTL',
    default: '15m',
    description:
      "Verified-credential cache (as Dovecot's `auth_cache`): after a password checked out against the account's scrypt verifier, the same user's logins with the same password skip scrypt for this long (per process; a hit does not extend it). Only a keyed digest (HMAC-SHA-256 under a random per-process key) of the account, its current verifier and the password is kept, never the password; a wrong password always goes to scrypt. Every login still reads the account from Postgres, so a password set anew (on any replica), a disabled or a removed account takes effect at the next login, not after the TTL. `0` turns the cache off.",
    services: LOGIN_TAKERS,
  },
  {
    name: 'TEGAMI_AUTH_CACHE_SIZE',
    default: '10000',
    description:
      'Accounts the verified-credential cache holds at most per process (about 200 bytes each); past it, the least recently used goes first. `0` turns the cache off.',
    services: LOGIN_TAKERS,
  },
  {
    name: 'TEGAMI_AUTH_CACHE_PROTOCOLS',
    default: 'imap,pop3',
    description:
      'The logins that use the verified-credential cache: comma-separated `imap`, `pop3`, `smtp` (SMTP AUTH), or `none`. IMAP and POP3 clients log in again and again with the same password (every poll, every folder connection); a submission client logs in far less often, so SMTP AUTH gains little and is left out by default.',
    services: LOGIN_TAKERS,
  },
  {
    name: 'TEGAMI_PASSWORD_SCRYPT_LN',
    default: '15',
    description:
      "Cost of the scrypt verifiers written for passwords (`tegami user add`, `user passwd`): log2 of N, with r=8, p=1 (15: N=32768, 32 MiB and about 50 ms per check; each step up doubles both). 14 to 20. A stored verifier is always checked with the parameters written in it; one of another cost is rewritten at this cost after its next successful login (PLAIN, LOGIN, USER/PASS), once per account. Logins of an unknown user cost one check at this cost, like a real one's.",
    services: [...LOGIN_TAKERS, 'cli'],
  },
  {
    name: 'TEGAMI_COMMAND_LINE_DEADLINE',
    default: '30s',
    description:
      "Slow clients: the longest a client may take over one command line, from its first byte to its line end, however steadily the bytes trickle in (SMTP, POP3 and IMAP; also an IMAP line between literals, a SASL response, IMAP's `DONE`). Then `421 4.4.2`, `-ERR` or `* BYE`, and the connection is closed. The idle timeouts still close silent connections.",
    services: [...PROXIED, 'standalone'],
  },
  {
    name: 'TEGAMI_MIN_DATA_RATE',
    default: '500',
    description:
      "Slow clients: the least average rate, in bytes per second, at which a message body must arrive (SMTP `DATA` and `BDAT` chunks, IMAP literals such as `APPEND`'s), as Postfix's `smtpd_min_data_rate`. A body starts with an allowance (SMTP: `TEGAMI_SMTP_DATA_TIMEOUT_MS`; IMAP: `TEGAMI_COMMAND_LINE_DEADLINE`), earns one second per this many bytes received, and may never bank more than the allowance: it may stall that long, not dribble on for ever.",
    services: [...PROXIED, 'standalone'],
  },
  {
    name: 'TEGAMI_LOGIN_DEADLINE',
    default: '60s',
    description:
      "Slow clients: how long a POP3 or IMAP client may take from connecting (a TLS handshake included) to a successful login, as Dovecot's login processes allow; then `-ERR` or `* BYE`, and the connection is closed.",
    services: ['pop-gateway', 'imap-gateway', 'standalone'],
  },
  {
    name: 'TEGAMI_TLS_CERT_FILE',
    description:
      'PEM certificate (chain) for STARTTLS, STLS and the implicit-TLS ports. Set it together with `TEGAMI_TLS_KEY_FILE`, or neither. The standalone generates a self-signed one for `localhost` when neither is set.',
    services: TLS_SERVERS,
  },
  {
    name: 'TEGAMI_TLS_KEY_FILE',
    description: 'PEM private key of `TEGAMI_TLS_CERT_FILE` (unencrypted).',
    services: TLS_SERVERS,
  },
  {
    name: 'TEGAMI_TLS_CIPHERS',
    default: DEFAULT_TLS12_CIPHERS,
    description:
      "TLS 1.2 cipher suites of STARTTLS, STLS and the implicit-TLS ports, as an OpenSSL cipher string, in the server's order of preference. The default (Mozilla's \"intermediate\") is ECDHE with AES-GCM or ChaCha20-Poly1305 only: no RSA key exchange, CBC or CCM8. TLS 1.3 keeps OpenSSL's suites, unless `TLS_…` names are listed. A string that selects no cipher stops the service. The delivery-worker's outgoing TLS is not affected.",
    services: TLS_SERVERS,
  },
  {
    name: 'TEGAMI_TLS_MIN_VERSION',
    default: 'TLSv1.2',
    description: 'Oldest TLS version the servers accept: `TLSv1.2` or `TLSv1.3`.',
    services: TLS_SERVERS,
  },
  {
    name: 'TEGAMI_SECRETS_KEY_FILE',
    description:
      'File with the key that seals secrets in the database (AES-256-GCM): the CRAM-MD5 and DIGEST-MD5 secrets (bound to the account) and the DKIM private keys (bound to domain and selector). One base64 key of 32 bytes per line (`openssl rand -base64 32`). The first line seals; the lines below it only open what older keys sealed (rotation: put a new key first). Give the same file to smtp-ingress, pop-gateway, imap-gateway, the delivery-worker and the CLI: without it the delivery-worker signs no mail and `tegami dkim create` refuses. The standalone creates `secrets.key` (0600) in `TEGAMI_DATA_DIR` when unset, and the CLI uses that one when `DATABASE_URL` is unset.',
    services: [...LOGIN_SERVERS, 'delivery-worker', 'cli'],
  },
  {
    name: 'TEGAMI_SASL_LEGACY_MECHANISMS',
    description:
      'Offer and accept CRAM-MD5 and DIGEST-MD5; unset: on exactly when there is a key (the standalone always has one). What the server keeps for them is password-equivalent, so it is stored only sealed with `TEGAMI_SECRETS_KEY_FILE`; `true` without a key is refused. `false` (or no key): not offered, not accepted, not derived when a password is set, and the stored secrets are deleted at start. PLAIN, LOGIN and SCRAM-SHA-256 are always on.',
    services: [...LOGIN_SERVERS, 'delivery-worker', 'cli'],
  },
  {
    name: 'TEGAMI_DATA_DIR',
    default: './data',
    description:
      'Standalone state: the embedded Postgres cluster (PostgreSQL 17, on a Unix socket inside it) and its generated password, the generated TLS certificate, and the key that seals CRAM-MD5/DIGEST-MD5 secrets and DKIM private keys (`secrets.key`), and the secret that signs SRS addresses of forwarded mail (`srs.secret`). The CLI looks here for the embedded database when `DATABASE_URL` is unset.',
    services: ['standalone', 'cli'],
  },
  {
    name: 'TEGAMI_IMPORT_PASSWORD',
    description:
      'The password `tegami import imap` logs in to the source server with, for scripts (an environment variable is not visible in `ps`, a command-line argument is). Unset: `--password-file`, or a prompt on a terminal. Leading and trailing spaces are not kept: a password with them goes in `--password-file`.',
    services: ['cli'],
  },
  {
    name: 'TEGAMI_DOMAIN',
    default: 'localhost',
    description: 'The local mail domain the standalone creates on its first start.',
    services: ['standalone'],
  },
  {
    name: 'TEGAMI_HOSTNAME',
    default: { text: 'the host name of the machine', compute: hostname },
    description:
      'The name the servers greet with and the delivery worker says in EHLO; also the MX host the published MTA-STS policy lists unless `TEGAMI_MTA_STS_MX` says otherwise, and the domain of the report address while there is no local domain.',
    services: [...GREETERS, 'cli'],
  },
  {
    name: 'TEGAMI_SMTP_HOST',
    default: '0.0.0.0',
    standaloneDefault: '127.0.0.1',
    description: 'Address the SMTP listeners bind.',
    services: SMTP,
  },
  {
    name: 'TEGAMI_MTA_STS_PORT',
    standaloneDefault: '2443',
    description:
      'Port of the MTA-STS policy host (RFC 8461): smtp-ingress answers `GET /.well-known/mta-sts.txt` for `Host: mta-sts.<local domain>` with the policy of `TEGAMI_MTA_STS_MODE`/`_MX`/`_MAX_AGE`, and 404 for anything else. Publish it as `https://mta-sts.<domain>/` (port 443): directly, or behind a proxy or Ingress. Unset: no policy host.',
    services: SMTP,
  },
  {
    name: 'TEGAMI_MTA_STS_TLS',
    default: 'true',
    description:
      'Serve the MTA-STS policy over HTTPS with `TEGAMI_TLS_CERT_FILE`, which must then name `mta-sts.<domain>` for every local domain (senders check it). `false`: plain HTTP, for behind a proxy or an Ingress that terminates TLS.',
    services: SMTP,
  },
  {
    name: 'TEGAMI_MTA_STS_MODE',
    default: 'testing',
    description:
      'Mode of the MTA-STS policy published for the local domains: `testing` (senders report TLS problems but deliver anyway: start here), `enforce` (senders deliver only over TLS to a listed MX with a valid certificate), `none` (withdraws a policy). The `_mta-sts` TXT record to publish: `tegami mta-sts`.',
    services: [...SMTP, 'cli'],
  },
  {
    name: 'TEGAMI_MTA_STS_MX',
    description:
      'MX hosts the MTA-STS policy lists (comma-separated host names, or `*.domain` for one label under it): every MX host of the local domains, each with a certificate valid for its name. Unset: `TEGAMI_HOSTNAME`.',
    services: [...SMTP, 'cli'],
  },
  {
    name: 'TEGAMI_MTA_STS_MAX_AGE',
    default: '604800',
    description:
      'Seconds senders keep the MTA-STS policy (max_age, at most 31557600); a week by default. Senders apply an `enforce` policy that long even when the policy host is gone, so start small when trying it.',
    services: [...SMTP, 'cli'],
  },
  {
    name: 'TEGAMI_SMTP_MX_PORT',
    default: '25',
    standaloneDefault: '2525',
    description: 'Port for mail from the Internet (MX): local recipients only, no AUTH.',
    services: SMTP,
  },
  {
    name: 'TEGAMI_SMTP_SUBMISSION_PORT',
    default: '587',
    standaloneDefault: '2587',
    description:
      'Submission port (RFC 6409): AUTH required, relays anywhere; STARTTLS when a certificate is set.',
    services: SMTP,
  },
  {
    name: 'TEGAMI_SMTP_SUBMISSIONS_PORT',
    default: '465',
    standaloneDefault: '2465',
    description: 'Submission over implicit TLS (RFC 8314); not started without a certificate.',
    services: SMTP,
  },
  {
    name: 'TEGAMI_SMTP_MAX_MESSAGE_BYTES',
    default: '26214400',
    description: 'Largest message accepted (advertised as SIZE); larger ones get `552 5.3.4`.',
    services: SMTP,
  },
  {
    name: 'TEGAMI_SMTP_MAX_RECIPIENTS',
    default: '100',
    description: 'Recipients per message (RFC 5321 asks for at least 100); more get `452 4.5.3`.',
    services: SMTP,
  },
  {
    name: 'TEGAMI_SMTP_MAX_CONNECTIONS',
    default: '1000',
    description: 'Open SMTP connections per process; more are answered `421` and closed.',
    services: SMTP,
  },
  {
    name: 'TEGAMI_SMTP_MAX_CONNECTIONS_PER_IP',
    default: '20',
    description: 'Open SMTP connections per client address; more are answered `421` and closed.',
    services: SMTP,
  },
  {
    name: 'TEGAMI_SMTP_COMMAND_TIMEOUT_MS',
    default: '300000',
    description: 'How long the server waits for the next command (RFC 5321 §4.5.3.2: at least 5 minutes).',
    services: SMTP,
  },
  {
    name: 'TEGAMI_SMTP_DATA_TIMEOUT_MS',
    default: '180000',
    description: 'How long the server waits for the next piece of a message (RFC 5321 §4.5.3.2: 3 minutes).',
    services: SMTP,
  },
  {
    name: 'TEGAMI_SMTP_ALLOW_PLAINTEXT_AUTH',
    default: 'false',
    description:
      'Allow AUTH PLAIN and LOGIN without TLS from any address (they are always allowed on loopback). Leave off unless a trusted proxy terminates TLS.',
    services: SMTP,
  },
  {
    name: 'TEGAMI_MAIL_AUTH',
    default: 'true',
    description:
      'Check SPF (MAIL FROM and HELO), DKIM, DMARC and ARC of every message received on port 25 at the end of DATA, through the dns-resolver, and prepend `Authentication-Results` (and `Received-SPF`) with `TEGAMI_HOSTNAME` as the authserv-id. `false` skips the checks and adds no header.',
    services: SMTP,
  },
  {
    name: 'TEGAMI_MAIL_AUTH_TIMEOUT',
    default: '15s',
    description:
      'Longest the checks of one message may take (every DNS lookup has its own 5 s deadline inside it); past it the results are `temperror` and the message is accepted.',
    services: SMTP,
  },
  {
    name: 'TEGAMI_DMARC_ENFORCEMENT',
    default: 'reject',
    description:
      "What a DMARC failure does (`p` and `sp` of the From domain, sampled by `pct`): `reject` refuses `p=reject` with `550 5.7.1` in the session and files `p=quarantine` into the recipient's Junk; `quarantine` files both into Junk; `report` only records the result in `Authentication-Results`.",
    services: SMTP,
  },
  {
    name: 'TEGAMI_ARC_TRUSTED_SEALERS',
    description:
      'Domains whose ARC seal is trusted to vouch for a message that fails DMARC after forwarding (a mailing list, a forwarding service), comma-separated: with a passing ARC chain whose latest seal is theirs, the DMARC policy is not applied (RFC 7489 §6.7 local policy, reason `arc`).',
    services: SMTP,
  },
  {
    name: 'TEGAMI_SRS_SECRET_FILE',
    description:
      "File with the secrets that sign SRS addresses (Sender Rewriting Scheme, postsrsd's format and file: one secret of 16 characters or more per line, e.g. `openssl rand -base64 32`). Mail an alias forwards to another domain is sent from `SRS0=…@<alias domain>`, so it passes SPF at the receiver, and smtp-ingress accepts bounces to those addresses (signed, 21 days) and returns them to the original sender. The first line signs; the lines below only verify (rotation: put a new secret first, remove the old one after 21 days). Give the same file to smtp-ingress and the delivery-worker. Unset: forwarding keeps the original sender (a warning is logged once) and SRS bounces are refused. The standalone creates `srs.secret` (0600) in `TEGAMI_DATA_DIR` when unset.",
    services: ['smtp-ingress', 'delivery-worker', 'standalone'],
  },
  {
    name: 'TEGAMI_RECIPIENT_DELIMITER',
    default: '+',
    description:
      "Subaddresses (RFC 5233): mail to `user+tag@domain` goes to `user@domain` when no user or alias has the whole address, and its Sieve script sees `tag` as `:detail`. Each character of the value separates (as Postfix's `recipient_delimiter`: `+-` takes both); the local part is cut at the first. `off` turns subaddresses off; `tegami domain set <domain> --plus-addressing off` does it for one domain. Give smtp-ingress and the delivery-worker the same value.",
    services: ['smtp-ingress', 'delivery-worker', 'standalone'],
  },
  {
    name: 'TEGAMI_RSPAMD_URL',
    description:
      'Base URL of an rspamd normal worker (e.g. `http://rspamd:11333`); unset: no spam filter. Every message received on port 25 is scanned with `/checkv2` at the end of DATA: `reject` answers `550 5.7.1`, `soft reject` and `greylist` answer `451 4.7.1`, `add header` and `rewrite subject` add its headers and file the message into Junk.',
    services: SMTP,
  },
  {
    name: 'TEGAMI_RSPAMD_TIMEOUT',
    default: '10s',
    description: 'Longest one rspamd scan may take before `TEGAMI_RSPAMD_FAILURE` applies.',
    services: SMTP,
  },
  {
    name: 'TEGAMI_RSPAMD_FAILURE',
    default: 'accept',
    description:
      'When rspamd cannot be reached or does not answer in time: `accept` takes the message unscanned (counted in `tegami_spam_actions_total{action="unscanned"}`), `tempfail` answers `451 4.7.1` so the sender tries again later.',
    services: SMTP,
  },
  {
    name: 'TEGAMI_RSPAMD_CONTROLLER_URL',
    description:
      "Base URL of rspamd's controller (e.g. `http://rspamd:11334`); unset: no learning. Moving or copying a message into a `\\Junk` mailbox over IMAP sends it to `/learnspam`, out of Junk (not into Trash) to `/learnham`.",
    services: ['imap-gateway', 'standalone'],
  },
  {
    name: 'TEGAMI_RSPAMD_PASSWORD_FILE',
    description:
      'File holding the rspamd controller password (its `password` or `enable_password`), sent as the `Password` header.',
    services: ['imap-gateway', 'standalone'],
  },
  {
    name: 'TEGAMI_SMTP_DNSBL',
    description:
      "DNS blocklist zones checked for each client address when it connects to port 25, comma-separated (e.g. `zen.spamhaus.org`); a listed client gets `554 5.7.1` with the listing's TXT text at each RCPT TO but postmaster@. A list that does not answer within 5 s lets the client through; loopback clients are never checked. Unset: none.",
    services: SMTP,
  },
  {
    name: 'TEGAMI_SMTP_REQUIRE_REVERSE_DNS',
    default: 'false',
    description:
      'Refuse port-25 clients whose address has no forward-confirmed reverse DNS (a PTR name that resolves back to the address): `450 4.7.25` when the lookup fails temporarily, `550 5.7.25` when there is none (RFC 8601 iprev).',
    services: SMTP,
  },
  {
    name: 'TEGAMI_SMTP_HELO_CHECKS',
    default: 'false',
    description:
      'Refuse port-25 HELO/EHLO names that cannot be a real host: not a fully qualified domain name or address literal, one of our own names, or a name that does not resolve (`550 5.7.1`; `450 4.7.1` on a temporary DNS failure).',
    services: SMTP,
  },
  {
    name: 'TEGAMI_POP_HOST',
    default: '0.0.0.0',
    standaloneDefault: '127.0.0.1',
    description: 'Address the POP3 listeners bind.',
    services: ['pop-gateway', 'standalone'],
  },
  {
    name: 'TEGAMI_POP_PORT',
    default: '110',
    standaloneDefault: '1110',
    description: 'POP3 port (RFC 1939), with STLS when a certificate is configured. 0 picks a free port.',
    services: ['pop-gateway', 'standalone'],
  },
  {
    name: 'TEGAMI_POPS_PORT',
    default: '995',
    standaloneDefault: '1995',
    description: 'POP3 over implicit TLS (RFC 8314); not started without a certificate. 0 picks a free port.',
    services: ['pop-gateway', 'standalone'],
  },
  {
    name: 'TEGAMI_POP_IDLE_TIMEOUT_MS',
    default: '10m',
    description: 'A POP3 session idle this long is closed (RFC 1939 asks for at least 10 minutes).',
    services: ['pop-gateway', 'standalone'],
  },
  {
    name: 'TEGAMI_POP_MAX_CONNECTIONS',
    default: '1000',
    description: 'Most POP3 connections one pop-gateway process serves at once.',
    services: ['pop-gateway', 'standalone'],
  },
  {
    name: 'TEGAMI_POP_MAX_CONNECTIONS_PER_IP',
    default: '20',
    description: 'Most POP3 connections from one client address at once.',
    services: ['pop-gateway', 'standalone'],
  },
  {
    name: 'TEGAMI_POP_ALLOW_PLAINTEXT_AUTH',
    default: 'false',
    description:
      'Allow USER/PASS, PLAIN and LOGIN without TLS from any address (always allowed on loopback).',
    services: ['pop-gateway', 'standalone'],
  },
  {
    name: 'TEGAMI_POP_LOGIN_DELAY',
    description:
      'RFC 2449 LOGIN-DELAY, off when unset: the least time between two POP3 logins of one account (e.g. `5m`), across all replicas. Advertised in CAPA; a login sooner gets `-ERR [LOGIN-DELAY]`.',
    services: ['pop-gateway', 'standalone'],
  },
  {
    name: 'TEGAMI_POP_BEFORE_SMTP_TTL',
    description:
      'POP-before-SMTP, off when unset: for this long after a POP3 login (e.g. `10m`), smtp-ingress relays mail from that client address through port 25 without SMTP AUTH (submission on 587/465 still wants AUTH), across all replicas. For old clients only; prefer AUTH.',
    services: ['smtp-ingress', 'pop-gateway', 'standalone'],
  },
  {
    name: 'TEGAMI_IMAP_HOST',
    default: '0.0.0.0',
    standaloneDefault: '127.0.0.1',
    description: 'Address the IMAP listeners bind.',
    services: ['imap-gateway', 'standalone'],
  },
  {
    name: 'TEGAMI_IMAP_PORT',
    default: '143',
    standaloneDefault: '1143',
    description: 'IMAP port (RFC 9051), with STARTTLS when a certificate is configured. 0 picks a free port.',
    services: ['imap-gateway', 'standalone'],
  },
  {
    name: 'TEGAMI_IMAPS_PORT',
    default: '993',
    standaloneDefault: '1993',
    description: 'IMAP over implicit TLS (RFC 8314). Needs a certificate; 0 picks a free port.',
    services: ['imap-gateway', 'standalone'],
  },
  {
    name: 'TEGAMI_IMAP_IDLE_TIMEOUT',
    default: '30m',
    description:
      'An IMAP session silent this long is logged out (RFC 9051 asks for at least 30 minutes); IDLE sessions too.',
    services: ['imap-gateway', 'standalone'],
  },
  {
    name: 'TEGAMI_IMAP_MAX_CONNECTIONS',
    default: '10000',
    description: 'Most IMAP connections one imap-gateway process serves at once.',
    services: ['imap-gateway', 'standalone'],
  },
  {
    name: 'TEGAMI_IMAP_MAX_CONNECTIONS_PER_IP',
    default: '50',
    description: 'Most IMAP connections from one client address at once, per process.',
    services: ['imap-gateway', 'standalone'],
  },
  {
    name: 'TEGAMI_IMAP_MAX_CONNECTIONS_PER_USER',
    default: '20',
    description:
      'Most logged-in IMAP sessions of one user at once, per process (phones, laptops and tablets of one person).',
    services: ['imap-gateway', 'standalone'],
  },
  {
    name: 'TEGAMI_IMAP_ALLOW_PLAINTEXT_AUTH',
    default: 'false',
    description:
      'Allow LOGIN and AUTHENTICATE PLAIN/LOGIN without TLS from any address (always allowed on loopback).',
    services: ['imap-gateway', 'standalone'],
  },
  {
    name: 'TEGAMI_IMAP_MAX_MESSAGE_SIZE',
    default: '52428800',
    description: 'Largest message APPEND accepts, in octets (advertised as APPENDLIMIT).',
    services: ['imap-gateway', 'standalone'],
  },
  {
    name: 'TEGAMI_IMAP_MAX_COMMANDS_PER_SECOND',
    default: '200',
    description:
      "Commands per second one IMAP session may run on average (bursts of ten seconds' worth); a faster client is slowed down, not cut off.",
    services: ['imap-gateway', 'standalone'],
  },
  {
    name: 'TEGAMI_IMAP_MESSAGE_CACHE_SIZE',
    default: '64',
    description:
      "MiB each IMAP gateway process may keep of messages' unchanging facts (INTERNALDATE, size, ENVELOPE and BODYSTRUCTURE, headers a FETCH asked for), as Dovecot's index cache does: a client that fetches the same envelopes again costs no database round trip. Never stale (only flags change after a message is stored); least recently used out first. `0` turns it off.",
    services: ['imap-gateway', 'standalone'],
  },
  {
    name: 'TEGAMI_MANAGESIEVE_PORT',
    default: '4190',
    standaloneDefault: '14190',
    description:
      'ManageSieve port (RFC 5804), served by the imap-gateway beside IMAP (same accounts, logins, TLS certificate and address, `TEGAMI_IMAP_HOST`): users upload their Sieve filters with it. STARTTLS when a certificate is configured; idle sessions close after `TEGAMI_IMAP_IDLE_TIMEOUT`. 0 picks a free port.',
    services: ['imap-gateway', 'standalone'],
  },
  {
    name: 'TEGAMI_MANAGESIEVE_MAX_SCRIPTS',
    default: '100',
    description: 'Most Sieve scripts one user may keep (ManageSieve answers `QUOTA/MAXSCRIPTS` past it).',
    services: ['imap-gateway', 'standalone'],
  },
  {
    name: 'TEGAMI_MANAGESIEVE_MAX_SCRIPT_SIZE',
    default: '1048576',
    description:
      "Largest Sieve script a user may upload, in octets (ManageSieve answers `QUOTA/MAXSIZE`; as Pigeonhole's `sieve_max_script_size`).",
    services: ['imap-gateway', 'standalone'],
  },
  {
    name: 'TEGAMI_GRPC_HOST',
    default: '0.0.0.0',
    description: 'Address the dns-resolver gRPC server (and its grpc.health.v1 service) listens on.',
    services: ['dns-resolver'],
  },
  {
    name: 'TEGAMI_GRPC_PORT',
    default: '50051',
    description: 'Port of the dns-resolver gRPC server (0 picks a free one).',
    services: ['dns-resolver'],
  },
  {
    name: 'TEGAMI_RESOLVER_TARGET',
    default: 'dns:///dns-resolver:50051',
    description:
      "gRPC target of the dns-resolver: `host:port`, or `dns:///name:port` to spread calls round-robin over every address of a headless Service. `tegami dkim check` and `tegami report send` ask it too when `DATABASE_URL` is set (against the standalone they ask the standalone's own resolver), and `tegami dkim check` this machine's resolver when it cannot be reached.",
    services: ['delivery-worker', 'smtp-ingress', 'cli'],
  },
  {
    name: 'TEGAMI_DNS_UPSTREAMS',
    default: {
      text: 'the servers of the system resolver (`/etc/resolv.conf`)',
      compute: () => getServers().join(','),
    },
    description:
      'Recursive DNS servers the dns-resolver asks, tried in order: IP addresses, comma-separated, each with an optional port (`10.0.0.10`, `127.0.0.1:5353`, `[2001:db8::53]:53`). For DANE (outbound TLS authenticated by TLSA records) they must be DNSSEC-validating resolvers reached over a path you trust (loopback or the cluster network): the dns-resolver trusts the AD bit of their answers; without validation DANE never applies and mail goes with opportunistic TLS.',
    services: ['dns-resolver', 'standalone'],
  },
  {
    name: 'TEGAMI_DNS_TIMEOUT_MS',
    default: '2000',
    description:
      'How long the dns-resolver waits for one upstream server to answer one query before asking the next. Milliseconds, or with a unit: `500ms`, `2s`.',
    services: ['dns-resolver', 'standalone'],
  },
  {
    name: 'TEGAMI_DNS_ATTEMPTS',
    default: '2',
    description:
      'Rounds over the upstream list before a lookup answers TIMEOUT (so the longest lookup takes timeout × attempts × servers).',
    services: ['dns-resolver', 'standalone'],
  },
  {
    name: 'TEGAMI_DNS_CACHE_ENTRIES',
    default: '10000',
    description:
      'Most answers the dns-resolver keeps (each for its TTL); past that the least recently used go first. 0 turns the cache off.',
    services: ['dns-resolver', 'standalone'],
  },
  {
    name: 'TEGAMI_DNS_NEGATIVE_TTL_MAX_MS',
    default: '300000',
    description:
      'Longest the dns-resolver keeps a negative answer (NXDOMAIN, no records), which otherwise lives as its SOA says (RFC 2308). Milliseconds, or with a unit: `30s`, `5m`.',
    services: ['dns-resolver', 'standalone'],
  },
  {
    name: 'TEGAMI_ADMIN_PORT',
    standaloneDefault: '18081',
    description:
      'Port of the admin API and web console (`/api/v1`, `/api/openapi.json`, `/console/`; 0 picks a free one). The delivery-worker serves them only when it is set (the container image sets 8081); the standalone always does.',
    services: ['delivery-worker', 'standalone'],
  },
  {
    name: 'TEGAMI_ADMIN_HOST',
    default: '0.0.0.0',
    standaloneDefault: '127.0.0.1',
    description: 'Address the admin API listens on.',
    services: ['delivery-worker', 'standalone'],
  },
  {
    name: 'TEGAMI_ADMIN_TLS_CERT_FILE',
    description:
      'PEM certificate (chain) of the admin API: with `TEGAMI_ADMIN_TLS_KEY_FILE` it speaks HTTPS; without both, plain HTTP (meant for a ClusterIP Service or loopback).',
    services: ['delivery-worker', 'standalone'],
  },
  {
    name: 'TEGAMI_ADMIN_TLS_KEY_FILE',
    description: 'PEM private key of `TEGAMI_ADMIN_TLS_CERT_FILE` (unencrypted).',
    services: ['delivery-worker', 'standalone'],
  },
  {
    name: 'TEGAMI_ADMIN_BODY_LIMIT',
    default: '2097152',
    description:
      'Largest request body the admin API reads, in bytes (a Sieve script may be 1 MiB); larger ones are refused with 413.',
    services: ['delivery-worker', 'standalone'],
  },
  {
    name: 'TEGAMI_ADMIN_RATE_LIMIT_READ',
    default: '20',
    description:
      'Admin API reads (GET) per second, per token and per client address, in each process (replicas count separately). Beyond the burst the answer is 429 with Retry-After.',
    services: ['delivery-worker', 'standalone'],
  },
  {
    name: 'TEGAMI_ADMIN_RATE_LIMIT_READ_BURST',
    default: '100',
    description: 'Admin API reads let through at once before `TEGAMI_ADMIN_RATE_LIMIT_READ` applies.',
    services: ['delivery-worker', 'standalone'],
  },
  {
    name: 'TEGAMI_ADMIN_RATE_LIMIT_WRITE',
    default: '5',
    description:
      'Admin API writes (POST, PUT, DELETE) per second, per token and per client address, in each process.',
    services: ['delivery-worker', 'standalone'],
  },
  {
    name: 'TEGAMI_ADMIN_RATE_LIMIT_WRITE_BURST',
    default: '20',
    description: 'Admin API writes let through at once before `TEGAMI_ADMIN_RATE_LIMIT_WRITE` applies.',
    services: ['delivery-worker', 'standalone'],
  },
  {
    name: 'TEGAMI_DELIVERY_CONCURRENCY',
    default: '32',
    description:
      'Queued messages one delivery-worker process works on at once (most of the time each waits on Postgres or a remote SMTP server).',
    services: ['delivery-worker', 'standalone'],
  },
  {
    name: 'TEGAMI_DELIVERY_SMTP_PORT',
    default: '25',
    description: "Port the delivery-worker connects to on other domains' MX hosts (only tests change it).",
    services: ['delivery-worker', 'standalone'],
  },
  {
    name: 'TEGAMI_DELIVERY_BIND_ADDRESS',
    description: 'Local address outbound SMTP connections come from (unset: chosen by the system).',
    services: ['delivery-worker', 'standalone'],
  },
  {
    name: 'TEGAMI_DELIVERY_CONNECT_TIMEOUT_MS',
    default: '30s',
    description:
      'How long the delivery-worker waits for a TCP connection and then for the greeting of an MX host before trying the next address.',
    services: ['delivery-worker', 'standalone'],
  },
  {
    name: 'TEGAMI_DELIVERY_SMTP_TIMEOUT_MS',
    default: '5m',
    description:
      'How long the delivery-worker waits for any one reply of a remote SMTP server (RFC 5321 §4.5.3.2 asks for minutes).',
    services: ['delivery-worker', 'standalone'],
  },
  {
    name: 'TEGAMI_DELIVERY_TLS_VERIFY',
    default: 'false',
    description:
      "Refuse an MX host's STARTTLS certificate that does not verify (trusted CA, dates, the MX host's name) even when no MTA-STS policy asks for it. Off, as in most MTAs: opportunistic TLS still encrypts, and many MX certificates do not name the MX host.",
    services: ['delivery-worker', 'standalone'],
  },
  {
    name: 'TEGAMI_DELIVERY_TLS_CA_FILE',
    description:
      "PEM file of CA certificates trusted besides Node's built-in (Mozilla) roots, when the delivery-worker checks an MX host's certificate (MTA-STS, `TEGAMI_DELIVERY_TLS_VERIFY`) and an MTA-STS policy host's: for a private CA in a closed deployment, and for tests. Unset: the built-in roots only.",
    services: ['delivery-worker', 'standalone'],
  },
  {
    name: 'TEGAMI_DELIVERY_MTA_STS',
    default: 'true',
    description:
      'Apply the MTA-STS policies (RFC 8461) of the domains mail is relayed to: look up `_mta-sts.<domain>`, fetch the policy from `https://mta-sts.<domain>/.well-known/mta-sts.txt`, keep it in the store for its max_age, and in `enforce` mode deliver only over TLS to listed MX hosts with a valid certificate (else defer). `false`: opportunistic TLS only.',
    services: ['delivery-worker', 'standalone'],
  },
  {
    name: 'TEGAMI_DELIVERY_DANE',
    default: 'true',
    description:
      "Apply DANE (RFC 7672) to relayed mail: where the MX records, the MX host's addresses and its `_25._tcp` TLSA records are DNSSEC-authenticated (the AD bit of a validating `TEGAMI_DNS_UPSTREAMS`), deliver only over TLS with a certificate that matches the TLSA records (else defer). DANE takes precedence over MTA-STS. `false`: never look up TLSA records.",
    services: ['delivery-worker', 'standalone'],
  },
  {
    name: 'TEGAMI_DELIVERY_MTA_STS_TIMEOUT_MS',
    default: '30s',
    description:
      'Longest an MTA-STS policy fetch may take (address lookup, TLS, the whole body); then the domain is treated as having no new policy, and its cached one, if any, still applies.',
    services: ['delivery-worker', 'standalone'],
  },
  {
    name: 'TEGAMI_DELIVERY_MTA_STS_PORT',
    default: '443',
    description: 'HTTPS port of MTA-STS policy hosts (RFC 8461 says 443; only tests change it).',
    services: ['delivery-worker', 'standalone'],
  },
  {
    name: 'TEGAMI_DELIVERY_RETRY_MIN_MS',
    default: '5m',
    description:
      'First retry delay after a temporary failure; each further retry waits twice as long, up to TEGAMI_DELIVERY_RETRY_MAX_MS.',
    services: ['delivery-worker', 'standalone'],
  },
  {
    name: 'TEGAMI_DELIVERY_RETRY_MAX_MS',
    default: '1h',
    description: 'Longest wait between two delivery attempts.',
    services: ['delivery-worker', 'standalone'],
  },
  {
    name: 'TEGAMI_DELIVERY_MAX_QUEUE_TIME_MS',
    default: '5d',
    description:
      'How long a recipient is retried before the message bounces as expired. Milliseconds, or with a unit: `90m`, `5d`.',
    services: ['delivery-worker', 'standalone'],
  },
  {
    name: 'TEGAMI_DELIVERY_DELAY_WARNING_MS',
    default: '4h',
    description:
      'After this long in the queue, a sender who asked for NOTIFY=DELAY gets one "delayed" notification.',
    services: ['delivery-worker', 'standalone'],
  },
  {
    name: 'TEGAMI_DELIVERY_DOMAIN_CONNECTIONS',
    default: '10',
    description:
      'Most SMTP connections to one destination domain at once, counted across all delivery-worker replicas.',
    services: ['delivery-worker', 'standalone'],
  },
  {
    name: 'TEGAMI_RETENTION_QUEUE',
    default: '14d',
    description:
      'How long a finished queue entry (every recipient delivered, relayed, bounced or dropped) is kept, with its recipients and attempts, for `tegami queue` and `tegami trace`; then it is deleted and its message bytes go unless a mailbox holds them. `0` deletes them at the next maintenance run.',
    services: ['delivery-worker', 'standalone', 'cli'],
  },
  {
    name: 'TEGAMI_RETENTION_ATTEMPTS',
    default: '14d',
    description:
      'How long each delivery attempt (host, address, reply: what `tegami trace` lists) is kept, even of a queue entry kept longer.',
    services: ['delivery-worker', 'standalone', 'cli'],
  },
  {
    name: 'TEGAMI_RETENTION_EXPUNGED',
    default: '90d',
    description:
      'How long the record of an expunged message is kept, from which IMAP sessions and replicas learn which UIDs vanished (RFC 7162 VANISHED). At least `1d`, far above `TEGAMI_IMAP_IDLE_TIMEOUT`, so no live session misses one; a client returning after longer is told every UID it may know that is gone.',
    services: ['delivery-worker', 'standalone', 'cli'],
  },
  {
    name: 'TEGAMI_RETENTION_BLOB_GRACE',
    default: '1h',
    description:
      'A stored message (blob) that no mailbox and no queue entry references is deleted once it is older than this. Safety does not depend on it (a blob being stored is locked against deletion); it is a margin.',
    services: ['delivery-worker', 'standalone', 'cli'],
  },
  {
    name: 'TEGAMI_RETENTION_INTERVAL',
    default: '1h',
    description:
      'How often a delivery-worker runs maintenance (the retention above, then blob collection). Every replica tries; a Postgres advisory lock lets one run at a time. `tegami gc` runs it at once.',
    services: ['delivery-worker', 'standalone'],
  },
  {
    name: 'TEGAMI_REPORTS',
    default: 'true',
    standaloneDefault: 'false',
    description:
      "Daily aggregate reports to the domains that ask for them: smtp-ingress counts the DMARC results of the mail it receives on port 25 and the delivery-worker the outcome of each outbound TLS session; shortly after UTC midnight a delivery-worker sends the DMARC report (RFC 7489) to the `rua` of each sending domain's DMARC record and the TLS-RPT report (RFC 8460) to the `rua` of each recipient domain's `_smtp._tls` record, through the queue. `false` counts and sends nothing. Off in the standalone: a laptop is not an MX others report to.",
    services: ['smtp-ingress', 'delivery-worker', 'standalone'],
  },
  {
    name: 'TEGAMI_REPORT_FROM',
    description:
      'The address reports are sent from (and that bounces of them return to), at a local domain so they are DKIM-signed. Unset: `noreply-reports@` the first local domain (`TEGAMI_HOSTNAME` when there is none).',
    services: ['delivery-worker', 'standalone', 'cli'],
  },
  {
    name: 'TEGAMI_REPORT_ORG_NAME',
    description:
      'The organization named as the reporter (DMARC `org_name`, TLS-RPT `organization-name`). Unset: the domain of the report address.',
    services: ['delivery-worker', 'standalone', 'cli'],
  },
  {
    name: 'TEGAMI_REPORT_CONTACT',
    description:
      'Where report recipients can ask about the reports (DMARC `email`, TLS-RPT `contact-info`): an address or a URL. Unset: the report address.',
    services: ['delivery-worker', 'standalone', 'cli'],
  },
  {
    name: 'TEGAMI_STARTUP_WAIT_MS',
    default: '60000',
    description:
      'How long a service that starts while Postgres or NATS cannot be reached waits for them (unready, saying why in its log) before it exits with code 1. `0` exits at once. Milliseconds, or with a unit: `60s`, `5m`.',
    services: STORE_USERS,
  },
  {
    name: 'TEGAMI_DB_POOL_SIZE',
    default: '10',
    standaloneDefault: '20',
    description:
      'Most Postgres connections each process opens (the standalone shares its pool among all five services).',
    services: [...STORE_USERS, 'standalone'],
  },
];

const BY_NAME = new Map(VARIABLES.map((v) => [v.name, v]));

export function findVariable(name: string): VariableSpec | undefined {
  return BY_NAME.get(name);
}

export function variablesFor(service: ServiceName): VariableSpec[] {
  return VARIABLES.filter((v) => v.services.includes(service));
}

/** The text the configuration table shows for a default. */
export function describeDefault(spec: VariableSpec): string {
  const base =
    spec.default === undefined
      ? ''
      : typeof spec.default === 'string'
        ? code(spec.default)
        : spec.default.text;
  if (spec.standaloneDefault === undefined) return base;
  return `${base} (standalone: ${code(spec.standaloneDefault)})`;
}

/** The README's configuration table, in Markdown. */
export function renderConfigTable(variables: readonly VariableSpec[] = VARIABLES): string {
  const rows = variables.map((v) =>
    [code(v.name), describeDefault(v) || '—', v.services.join(', '), v.description].map(cell).join(' | '),
  );
  return [
    '| Variable | Default | Used by | Description |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r} |`),
  ]
    .join('\n')
    .concat('\n');
}

function code(text: string): string {
  return `\`${text}\``;
}

// A pipe would end the cell early and a newline the row.
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}
