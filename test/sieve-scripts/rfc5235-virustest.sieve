# RFC 5235 §3.3: the virustest example.
require ["virustest", "fileinto", "relational", "comparator-i;ascii-numeric"];
if virustest :value "eq" :comparator "i;ascii-numeric" "0"
{
    fileinto "INBOX.unscanned";
}
elsif virustest :value "eq" :comparator "i;ascii-numeric" "4"
{
    fileinto "INBOX.quarantine";
}
elsif virustest :value "eq" :comparator "i;ascii-numeric" "5"
{
    discard;
}
