# RFC 5490 §3.1: :create, mailboxexists on several names and INBOX.
# @mailboxes: Lists/ietf
require ["fileinto", "mailbox", "variables", "imap4flags"];
if mailboxexists "INBOX" { addflag "inbox-exists"; }
if mailboxexists ["Lists/ietf", "Nope"] { addflag "both-exist"; }
if mailboxexists "Lists/ietf" { addflag "ietf-exists"; }
if header :matches "List-Id" "*<*.*>*" {
   fileinto :create "Lists/${2}";
} else {
   fileinto :create :flags "new" "Unsorted";
}
