# RFC 7352 §3.1/§4: the examples. Every message is new to both (sieve-test keeps no
# duplicate database between runs, Tegami is told nothing was seen).
require ["duplicate", "fileinto", "mailbox", "variables", "imap4flags"];

if duplicate {
  fileinto :create "Trash/Duplicate";
}

if duplicate :header "X-Event-ID" :handle "notifier" :seconds 1800 {
  discard;
}

if header :matches "subject" "ALERT: *" {
  if duplicate :seconds 60 :uniqueid "${1}" {
    setflag "\\seen";
  }
  fileinto "Alerts";
}
if not duplicate :last :uniqueid "x" { fileinto "first-time"; }
