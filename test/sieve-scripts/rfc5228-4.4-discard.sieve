# RFC 5228 §4.4: discard.
if header :contains ["from"] ["idiot@example.com"] {
   discard;
}
