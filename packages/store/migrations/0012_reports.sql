-- TLS-RPT (RFC 8460) and DMARC aggregate reports (RFC 7489 §7.2), issue 15.
--
-- What is reported is counted as it happens, one row per UTC day and distinct set of
-- reported fields, with a count: the delivery-worker counts its outbound TLS sessions, smtp-ingress
-- the DMARC results of the mail it receives. Each process adds up its counts in memory for a
-- few seconds and upserts them (report-tallies.ts): statistics, so a crash may lose the last
-- few seconds. `key` is a digest of the row's reported fields (they may be long: MTA-STS
-- policy text), unique per day.

CREATE TABLE tls_report_results (
  day date NOT NULL,
  key text NOT NULL,
  -- The recipient domain whose policy applied.
  policy_domain text NOT NULL,
  policy_type text NOT NULL CHECK (policy_type IN ('sts', 'tlsa', 'no-policy-found')),
  policy_strings text[] NOT NULL,
  mx_host_patterns text[] NOT NULL,
  -- 'success' or an RFC 8460 §4.3 result type.
  result_type text NOT NULL,
  sending_ip text NOT NULL,
  receiving_ip text NOT NULL,
  receiving_mx_host text NOT NULL,
  failure_reason text NOT NULL,
  session_count bigint NOT NULL,
  last_seen timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (day, key)
);
CREATE INDEX tls_report_results_domain ON tls_report_results (day, policy_domain);

CREATE TABLE dmarc_report_records (
  day date NOT NULL,
  key text NOT NULL,
  -- Where the DMARC record was found (the From domain or its organizational domain).
  policy_domain text NOT NULL,
  header_from text NOT NULL,
  envelope_from text NOT NULL,
  source_ip text NOT NULL,
  disposition text NOT NULL CHECK (disposition IN ('none', 'quarantine', 'reject')),
  dkim_aligned boolean NOT NULL,
  spf_aligned boolean NOT NULL,
  -- [{type, comment}]: why the disposition differs from the policy (sampled_out, local_policy…).
  reasons jsonb NOT NULL,
  -- [{domain, selector, result}] of every DKIM signature.
  dkim_results jsonb NOT NULL,
  spf_domain text NOT NULL,
  spf_scope text NOT NULL CHECK (spf_scope IN ('mfrom', 'helo')),
  spf_result text NOT NULL,
  policy_p text NOT NULL,
  policy_sp text NOT NULL,
  policy_pct integer NOT NULL,
  policy_adkim text NOT NULL,
  policy_aspf text NOT NULL,
  policy_fo text NOT NULL,
  -- Where the record asks for reports: the latest seen wins (not part of the key).
  rua text NOT NULL,
  message_count bigint NOT NULL,
  last_seen timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (day, key)
);
CREATE INDEX dmarc_report_records_domain ON dmarc_report_records (day, policy_domain);

-- One report per kind, day and domain, exactly once across every delivery-worker: the row is
-- claimed (claimed_by, until claimed_until) by the replica building the report, and set
-- 'sent' in the same transaction that queues the report messages; 'skipped' when the domain
-- asks for no reports, 'failed' after too many attempts (DNS kept failing).
CREATE TABLE report_runs (
  kind text NOT NULL CHECK (kind IN ('tlsrpt', 'dmarc')),
  day date NOT NULL,
  domain text NOT NULL,
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'skipped', 'failed')),
  claimed_by text,
  claimed_until timestamptz,
  attempts integer NOT NULL DEFAULT 0,
  report_id text,
  -- Where it went, or why not: for the operator (`tegami report list`) and the logs.
  detail text,
  created_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  PRIMARY KEY (kind, day, domain)
);
