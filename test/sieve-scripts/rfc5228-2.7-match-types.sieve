# RFC 5228 §2.7.1 and §2.7.3: match types and comparators.
require ["fileinto", "imap4flags"];
if header :contains "Subject" "MAKE MONEY FAST" { addflag "contains-casemap"; }
if header :contains :comparator "i;octet" "Subject" "MAKE MONEY FAST" { addflag "contains-octet"; }
if header :matches "Subject" "*money*" { addflag "matches-star"; }
if header :matches "Subject" "?*" { addflag "matches-nonempty"; }
if header :matches "Subject" "\\*" { addflag "matches-escaped"; }
if header :is "Subject" "" { addflag "is-empty"; }
