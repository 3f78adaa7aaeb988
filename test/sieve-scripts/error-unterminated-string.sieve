# RFC 5228 §2.4.2: an unterminated quoted string runs to the end of the script.
keep;
if header :is "subject" "open {
  discard;
}
