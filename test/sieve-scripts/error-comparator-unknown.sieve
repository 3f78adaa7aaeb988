# RFC 5228 §2.7.3: an unknown comparator is an error (line 2).
if header :contains :comparator "i;no-such" "subject" "x" { discard; }
