# RFC 5231 §4 and §5: :count and :value with every relational operator.
require ["relational", "comparator-i;ascii-numeric", "imap4flags", "envelope"];
if header :count "ge" :comparator "i;ascii-numeric" ["Received"] ["2"] { addflag "received-ge-2"; }
if header :count "eq" :comparator "i;ascii-numeric" ["Received"] ["0"] { addflag "received-eq-0"; }
if header :count "ne" ["Received", "To"] ["3"] { addflag "count-ne-3-casemap"; }
if address :count "gt" :comparator "i;ascii-numeric" ["to", "cc"] ["1"] { addflag "rcpts-gt-1"; }
if header :value "lt" :comparator "i;ascii-numeric" "x-priority" "3" { addflag "priority-lt-3"; }
if header :value "le" "subject" "m" { addflag "subject-le-m"; }
if header :value "gt" "subject" "m" { addflag "subject-gt-m"; }
if header :value "eq" :comparator "i;octet" "subject" "hello" { addflag "subject-eq-hello"; }
if header :value "ne" :comparator "i;ascii-numeric" "x-priority" "1" { addflag "priority-ne-1"; }
if header :value "ge" :comparator "i;ascii-numeric" "x-none" "0" { addflag "absent-ge-0"; }
if envelope :count "eq" :comparator "i;ascii-numeric" "to" "1" { addflag "env-to-1"; }
