# RFC 5232 §3 and §7: setflag/addflag/removeflag on the internal variable, hasflag, and
# :flags on fileinto and keep.
require ["imap4flags", "fileinto", "relational", "comparator-i;ascii-numeric"];
if size :over 500K {
    setflag "\\Deleted";
}
if header :contains "from" "boss@frobnitzm.example.edu" {
    setflag "\\Flagged";
    fileinto "From Boss";
}
addflag ["\\Seen", "\\Answered"];
removeflag "\\Answered";
if hasflag :contains "\\seen" { addflag "was-seen"; }
if hasflag :count "eq" :comparator "i;ascii-numeric" "2" { addflag "two"; }
keep :flags "Kept";
