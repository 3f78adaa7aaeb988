# RFC 5293 §8: don't redirect if we already redirected; the header the script adds is on
# the message it stores and redirects.
require ["editheader", "copy"];
/* Don't redirect if we already redirected */
if not header :contains "X-Sieve-Filtered"
        ["<kim@job.example.com>", "<kim@home.example.com>"]
{
        addheader "X-Sieve-Filtered" "<kim@job.example.com>";
        redirect :copy "kim@home.example.com";
}
