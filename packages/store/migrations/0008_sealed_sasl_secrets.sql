-- The CRAM-MD5 and DIGEST-MD5 secrets are password-equivalent: whoever reads them can log
-- in with those mechanisms (and DIGEST's is an unsalted MD5 of user:realm:password). From
-- here on they are kept only sealed (AES-256-GCM under a key the services hold, never the
-- database; packages/store/src/legacy-sasl-secrets.ts) or, when an operator turned those
-- mechanisms off, not at all. The plaintext columns stay nullable for rows written before
-- this migration: the first service start with a key seals them in place, and one without
-- a key empties them.
ALTER TABLE accounts
  ALTER COLUMN cram_md5_inner DROP NOT NULL,
  ALTER COLUMN cram_md5_outer DROP NOT NULL,
  ALTER COLUMN digest_md5_ha1 DROP NOT NULL,
  -- secretsKeyId() of the key that sealed legacy_sasl_sealed, so old keys can be found and retired
  ADD COLUMN legacy_sasl_key_id text,
  -- format ‖ nonce ‖ AES-256-GCM(cram inner ‖ cram outer ‖ digest HA1) ‖ tag, bound to the account
  ADD COLUMN legacy_sasl_sealed bytea,
  ADD CONSTRAINT accounts_legacy_sasl_sealed_with_key
    CHECK ((legacy_sasl_key_id IS NULL) = (legacy_sasl_sealed IS NULL));
