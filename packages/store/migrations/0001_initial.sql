-- Tegami message store, first schema. Applied by packages/store/src/migrate.ts inside an
-- advisory lock; never edit a migration that has shipped: add the next number instead.

CREATE TABLE domains (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- lower case A-labels, no trailing dot (packages/protocol parseDomain)
  name        text NOT NULL UNIQUE CHECK (name = lower(name) AND name <> ''),
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE accounts (
  id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  domain_id               bigint NOT NULL REFERENCES domains (id) ON DELETE RESTRICT,
  local_part              text NOT NULL,
  -- the lookup key: local_part lower-cased + '@' + domain
  address                 text NOT NULL UNIQUE CHECK (address = lower(address)),
  -- PLAIN, LOGIN, USER/PASS: $scrypt$ln=..,r=..,p=..$salt$hash
  password_scrypt         text NOT NULL,
  -- CRAM-MD5: HMAC-MD5 inner/outer MD5 states (RFC 2195 without the cleartext)
  cram_md5_inner          bytea NOT NULL CHECK (length(cram_md5_inner) = 16),
  cram_md5_outer          bytea NOT NULL CHECK (length(cram_md5_outer) = 16),
  -- DIGEST-MD5: H(username:realm:password), RFC 2831
  digest_md5_realm        text NOT NULL,
  digest_md5_ha1          bytea NOT NULL CHECK (length(digest_md5_ha1) = 16),
  -- SCRAM-SHA-256 (RFC 7677)
  scram_sha256_salt       bytea NOT NULL,
  scram_sha256_iterations integer NOT NULL CHECK (scram_sha256_iterations >= 4096),
  scram_sha256_stored_key bytea NOT NULL CHECK (length(scram_sha256_stored_key) = 32),
  scram_sha256_server_key bytea NOT NULL CHECK (length(scram_sha256_server_key) = 32),
  quota_bytes             bigint CHECK (quota_bytes IS NULL OR quota_bytes >= 0),
  disabled                boolean NOT NULL DEFAULT false,
  password_changed_at     timestamptz NOT NULL DEFAULT now(),
  created_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accounts_domain ON accounts (domain_id);

-- One row per (alias, destination): an alias may fan out, and a destination may be remote.
CREATE TABLE aliases (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  domain_id    bigint NOT NULL REFERENCES domains (id) ON DELETE RESTRICT,
  address      text NOT NULL CHECK (address = lower(address)),
  destination  text NOT NULL CHECK (destination = lower(destination)),
  created_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (address, destination)
);
CREATE INDEX aliases_domain ON aliases (domain_id);

-- Raw messages exactly as received, by SHA-256, stored once however many mailboxes hold them.
CREATE TABLE blobs (
  sha256      bytea PRIMARY KEY CHECK (length(sha256) = 32),
  size        bigint NOT NULL CHECK (size >= 0),
  data        bytea NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- UIDVALIDITY must never repeat for a mailbox name (RFC 3501 §2.3.1.1); one global
-- sequence guarantees that even when a mailbox is deleted and created again.
CREATE SEQUENCE mailbox_uidvalidity_seq AS bigint MINVALUE 1 MAXVALUE 4294967295 NO CYCLE;

CREATE TABLE mailboxes (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id      bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  -- full hierarchical name, '/' as the delimiter, Unicode (IMAP's modified UTF-7 is the gateway's)
  name            text NOT NULL CHECK (name <> '' AND name !~ '(^/|/$|//)'),
  uidvalidity     bigint NOT NULL DEFAULT nextval('mailbox_uidvalidity_seq'),
  uidnext         bigint NOT NULL DEFAULT 1 CHECK (uidnext BETWEEN 1 AND 4294967296),
  highestmodseq   bigint NOT NULL DEFAULT 1 CHECK (highestmodseq >= 1),
  special_use     text CHECK (special_use IN ('\All', '\Archive', '\Drafts', '\Flagged', '\Junk', '\Sent', '\Trash')),
  subscribed      boolean NOT NULL DEFAULT true,
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (account_id, name)
);

CREATE TABLE messages (
  mailbox_id     bigint NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
  uid            bigint NOT NULL CHECK (uid BETWEEN 1 AND 4294967295),
  blob_sha256    bytea NOT NULL REFERENCES blobs (sha256),
  size           bigint NOT NULL CHECK (size >= 0),
  internal_date  timestamptz NOT NULL,
  flags          text[] NOT NULL DEFAULT '{}',
  modseq         bigint NOT NULL,
  -- what IMAP serves without reading the blob: ENVELOPE, BODYSTRUCTURE, part offsets
  metadata       jsonb,
  -- decoded header and body text for SEARCH, whatever the message's charset
  search_text    text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX messages_blob ON messages (blob_sha256);
CREATE INDEX messages_modseq ON messages (mailbox_id, modseq);

-- What an expunge removed, by MODSEQ: sessions and replicas catch up from here
-- (RFC 7162 VANISHED, and "NATS only says look").
CREATE TABLE expunged_messages (
  mailbox_id   bigint NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
  uid          bigint NOT NULL,
  modseq       bigint NOT NULL,
  expunged_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX expunged_messages_modseq ON expunged_messages (mailbox_id, modseq);

-- Each message smtp-ingress accepted. 'accepting' rows have no acknowledged job yet: a
-- sweep removes them when old, since the client was answered 451 and will retry.
CREATE TABLE queue (
  id                 text PRIMARY KEY,
  state              text NOT NULL DEFAULT 'accepting' CHECK (state IN ('accepting', 'queued', 'done')),
  blob_sha256        bytea NOT NULL REFERENCES blobs (sha256),
  size               bigint NOT NULL,
  -- the envelope sender; '' is the null reverse-path <>
  sender             text NOT NULL,
  message_id         text,
  client_address     text,
  client_helo        text,
  listener           text,
  authenticated_as   bigint REFERENCES accounts (id) ON DELETE SET NULL,
  -- RFC 3461 DSN parameters of MAIL FROM
  dsn_envid          text,
  dsn_ret            text CHECK (dsn_ret IN ('FULL', 'HDRS')),
  received_at        timestamptz NOT NULL DEFAULT now(),
  expires_at         timestamptz NOT NULL DEFAULT now() + interval '5 days'
);
CREATE INDEX queue_state ON queue (state, received_at);
CREATE INDEX queue_message_id ON queue (message_id);

-- Each recipient of each queued message. Unique per (queue id, recipient): a job
-- delivered again after a crash finds its row and never makes a second copy.
CREATE TABLE deliveries (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  queue_id         text NOT NULL REFERENCES queue (id) ON DELETE CASCADE,
  recipient        text NOT NULL,
  -- RFC 3461 RCPT parameters
  dsn_notify       text[],
  dsn_orcpt        text,
  status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'deferred', 'delivered', 'bounced', 'dropped')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz,
  last_attempt_at  timestamptz,
  last_reply       text,
  -- for a local delivery: where it went
  mailbox_id       bigint REFERENCES mailboxes (id) ON DELETE SET NULL,
  uid              bigint,
  UNIQUE (queue_id, recipient)
);
CREATE INDEX deliveries_pending ON deliveries (status, next_attempt_at) WHERE status IN ('pending', 'deferred');

-- The history `tegami trace` shows: every attempt, which host and address, and the reply.
CREATE TABLE delivery_attempts (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  delivery_id   bigint NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  attempted_at  timestamptz NOT NULL DEFAULT now(),
  outcome       text NOT NULL CHECK (outcome IN ('delivered', 'deferred', 'bounced')),
  mx_host       text,
  address       text,
  reply         text
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id);
