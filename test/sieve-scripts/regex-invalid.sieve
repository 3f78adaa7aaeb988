# draft-ietf-sieve-regex-01 §3: an invalid literal expression is a compile error (line 3).
require "regex";
if header :regex "subject" "([unclosed" { discard; }
