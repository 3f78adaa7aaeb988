# RFC 5429 §2.2: the reject example.
require ["reject"];

if size :over 100K {
    reject text:
Your message is too big.  If you want to send me a big attachment,
put it on a public web site and send me a URL.
.
;
}
if header :contains "from" "coyote@desert.example.org" {
    reject "I am not taking mail from you, and I don't
want your birdseed, either!";
}
