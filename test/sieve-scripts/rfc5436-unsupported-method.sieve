# RFC 5435 §3.1: an unsupported method named through a variable fails at run time.
require ["enotify", "variables"];
set "method" "xmpp:tim@example.com?message;subject=SIEVE";
notify "${method}";
