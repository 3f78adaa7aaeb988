# RFC 5429 §2.1: the ereject example. Pigeonhole has no ereject: it runs this script with
# reject in its place (the same action after the message was accepted, RFC 5429 §2.1.1).
require ["ereject"];
if header :contains "from" "coyote@desert.example.org" {
    ereject "I am not taking mail from you, and I don't
want your birdseed, either!";
}
