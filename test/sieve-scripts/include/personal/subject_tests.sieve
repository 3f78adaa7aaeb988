# RFC 6609 §3.4: included by rfc6609-include.sieve.
require ["variables", "include"];
global ["test", "test_mailbox"];

if header :contains "Subject" "${test}"
{
    set "test_mailbox" "spam-${test}";
}
