# RFC 5235 §3.1/§3.2: the exact values, as mailbox names.
require ["spamtestplus", "virustest", "fileinto", "variables"];
if spamtest :matches "*" { fileinto "spam-${1}"; }
if spamtest :percent :matches "*" { fileinto "percent-${1}"; }
if virustest :matches "*" { fileinto "virus-${1}"; }
