# RFC 5228 §4.1 and RFC 3501 §5.1: a mailbox name with a line break in it cannot exist;
# storing into it fails, and the implicit keep takes the message (RFC 5228 §2.10.6).
require ["fileinto", "variables"];
set "name" text:
two
lines
.
;
fileinto "${name}";
