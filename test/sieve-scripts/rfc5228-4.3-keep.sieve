# RFC 5228 §4.3: keep, by size.
if size :under 1M {
   keep;
} else {
   discard;
}
