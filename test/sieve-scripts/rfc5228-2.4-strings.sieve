# RFC 5228 §2.4.2: quoted strings with escapes and multi-line strings with dot-stuffing.
require "reject";
if header :contains "subject" "\"quoted\" \\ back" {
   reject "quoted \"reason\"";
   stop;
}
reject text:
Multi-line reason,
..dot-stuffed line
.
;
