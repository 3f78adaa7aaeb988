# RFC 5228 §3.1: the if/elsif/else example, as printed: it uses fileinto without
# requiring it, so it must not compile (§3.2: an extension must be required). Line 8.
if header :contains "from" "coyote" {
   discard;
} elsif header :contains ["subject"] ["$$$"] {
   discard;
} else {
   fileinto "INBOX";
}
