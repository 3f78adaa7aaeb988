# RFC 5228 §2.3: hash and bracketed comments anywhere between tokens.
if /* a comment */ header :contains # another
   "from" /* multi
   line */ "example" {
   keep; # done
}
