# RFC 5490 §3.1/§3.2: the example, no "Partners" mailbox.
require ["fileinto", "reject", "mailbox"];
if mailboxexists "Partners" {
   fileinto "Partners";
} else {
   reject "This message was not accepted by the Mailstore";
}
