-- DKIM signing keys of the local domains (issue 15). The delivery-worker signs outgoing mail
-- with the active key of each algorithm; a rotated key stays here, "retiring", for as long
-- as mail signed with it may still be verified, until the operator deletes it (and its DNS
-- record). Private keys are kept only sealed (AES-256-GCM under TEGAMI_SECRETS_KEY_FILE, as
-- the CRAM-MD5 secrets: packages/store/src/sealed-secrets.ts), bound to domain, selector
-- and algorithm, so a sealed key copied onto another row does not open.
CREATE TABLE dkim_keys (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- a domain's keys go with it: without the domain nothing is signed with them
  domain_id           bigint NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
  -- DNS labels, lower case (packages/protocol parseDkimSelector)
  selector            text NOT NULL CHECK (selector = lower(selector) AND selector <> ''),
  algorithm           text NOT NULL CHECK (algorithm IN ('rsa-sha256', 'ed25519-sha256')),
  -- the record's p= value: base64 of SubjectPublicKeyInfo (RSA) or of the raw key (Ed25519)
  public_key          text NOT NULL,
  -- secretsKeyId() of the key that sealed private_key_sealed
  secrets_key_id      text NOT NULL,
  -- format ‖ nonce ‖ AES-256-GCM(PKCS #8 PEM) ‖ tag
  private_key_sealed  bytea NOT NULL,
  state               text NOT NULL CHECK (state IN ('active', 'retiring')),
  created_at          timestamptz NOT NULL DEFAULT now(),
  -- retiring: when it stopped signing, and until when mail signed with it may be in transit
  retired_at          timestamptz,
  retire_until        timestamptz,
  CONSTRAINT dkim_keys_retiring_has_dates
    CHECK ((state = 'retiring') = (retired_at IS NOT NULL AND retire_until IS NOT NULL)),
  UNIQUE (domain_id, selector)
);
-- One signing key per domain and algorithm: mail carries at most one signature of each.
CREATE UNIQUE INDEX dkim_keys_one_active ON dkim_keys (domain_id, algorithm) WHERE state = 'active';
