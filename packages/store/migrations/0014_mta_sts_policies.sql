-- MTA-STS (RFC 8461) policies of the domains we relay to, as last fetched from
-- https://mta-sts.<domain>/.well-known/mta-sts.txt. Shared by every delivery-worker and kept
-- across restarts: §5 asks senders to keep applying a policy until its max_age runs out,
-- even when the TXT record or the policy host can no longer be reached (an attacker who
-- blocks them must not be able to turn the policy off).
CREATE TABLE mta_sts_policies (
  domain      text PRIMARY KEY,
  -- The `id` of the `_mta-sts` TXT record the policy was fetched for: a different id means
  -- a new policy to fetch (§3.1).
  policy_id   text NOT NULL,
  mode        text NOT NULL CHECK (mode IN ('enforce', 'testing', 'none')),
  -- The policy file as served (at most 64 KiB, §3.3), for TLS-RPT's policy-string and re-parsing.
  policy_text text NOT NULL,
  fetched_at  timestamptz NOT NULL,
  -- fetched_at + max_age.
  expires_at  timestamptz NOT NULL
);
