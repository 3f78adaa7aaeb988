-- Users moved in from another server keep the password hash it had for them (Dovecot's
-- `{SCHEME}…` string, checked by packages/protocol's legacy-password-hash.ts) until their
-- first cleartext login (PLAIN, LOGIN, USER/PASS), which checks the password against it,
-- writes Tegami's own secrets and empties this column in one UPDATE. Until then the account
-- has no scrypt verifier and no SCRAM keys: those are derived from the cleartext, which
-- nobody has yet. SCRAM, CRAM-MD5 and DIGEST-MD5 fail for it meanwhile.
ALTER TABLE accounts
  ADD COLUMN password_legacy_hash text,
  ALTER COLUMN password_scrypt DROP NOT NULL,
  ALTER COLUMN scram_sha256_salt DROP NOT NULL,
  ALTER COLUMN scram_sha256_iterations DROP NOT NULL,
  ALTER COLUMN scram_sha256_stored_key DROP NOT NULL,
  ALTER COLUMN scram_sha256_server_key DROP NOT NULL,
  -- One or the other, never both and never neither: a password set (or upgraded at login)
  -- replaces the imported hash in the same statement.
  ADD CONSTRAINT accounts_one_password_form CHECK (
    CASE WHEN password_legacy_hash IS NULL
      THEN password_scrypt IS NOT NULL AND scram_sha256_salt IS NOT NULL
        AND scram_sha256_iterations IS NOT NULL AND scram_sha256_stored_key IS NOT NULL
        AND scram_sha256_server_key IS NOT NULL
      ELSE password_legacy_hash <> '' AND password_scrypt IS NULL AND scram_sha256_salt IS NULL
        AND scram_sha256_iterations IS NULL AND scram_sha256_stored_key IS NULL
        AND scram_sha256_server_key IS NULL
    END
  );
