# draft-ietf-sieve-regex-01 §3/§4: :regex on address and header, with match variables.
require ["regex", "variables", "fileinto"];
if address :regex :comparator "i;ascii-casemap" "from" [
      "stephan(\\+.*)?@it\\.example\\.com",
      "stephan(\\+.*)?@friep\\.example\\.com"
      ] {
    keep;
    stop;
}
if header :regex "List-Id" "<([a-z0-9-]+)[.@]" {
    fileinto "lists/${1}";
}
if header :regex "subject" "^\\[([^]]+)\\] (.*)$" {
    fileinto "tagged/${1}";
}
if not header :regex "message-id" "^<[^@>]+@[^>]+>$" {
    fileinto "odd-message-id";
}
if address :regex :domain "to" "^(.+)\\.(org|net)$" { fileinto "tld-${2}"; }
