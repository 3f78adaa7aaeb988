# RFC 5183 §4/§5: environment items (Tegami is given Pigeonhole's values: see
# test/support/pigeonhole.ts), unknown items are false, match types apply.
require ["environment", "fileinto", "variables", "relational"];
if environment :is "location" "MS" { fileinto "at-ms"; }
if environment :is "phase" "post" { fileinto "post"; }
if environment :matches "name" "*" { fileinto "name-${1}"; }
if environment :contains "version" "." { fileinto "dotted-version"; }
if environment :count "eq" "remote-ip" "0" { fileinto "no-remote-ip"; }
if environment :is "vnd.example.unknown" "" { fileinto "unknown-empty"; }
if not environment :contains "unknown" "" { fileinto "unknown-absent"; }
if environment :matches "domain" "*" { set "d" "${1}"; }
if environment :matches "host" "${d}*" { fileinto "host-in-domain"; }
