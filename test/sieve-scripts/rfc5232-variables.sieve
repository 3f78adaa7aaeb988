# RFC 5232 §3/§5: flag commands on a named variable, and :flags with it.
require ["imap4flags", "fileinto", "variables"];
if header :contains "from" "boss@frobnitzm.example.edu" {
    setflag "flagvar" "\\Flagged";
    fileinto :flags "${flagvar}" "INBOX.From Boss";
}
setflag "myflags" "A B";
addflag "myflags" ["C", "a"];
removeflag "myflags" "b";
if hasflag "myflags" "c" { fileinto :flags "${myflags}" "Flagged"; }
if hasflag :matches "myflags" "*" { fileinto "all-${1}"; }
