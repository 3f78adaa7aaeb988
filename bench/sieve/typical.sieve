# A typical user's filter set, as Roundcube's managesieve plugin writes it: a few rules
# on list headers, senders and subjects, one flag rule, and a plus-address folder.
require ["fileinto","imap4flags","envelope","subaddress","variables","mailbox","body"];
# rule:[lists]
if header :contains "list-id" ["<dev.lists.example.org>", "<announce.example.org>"]
{
	fileinto :create "Lists/dev";
	stop;
}
# rule:[boss]
if address :is "from" ["boss@example.com", "ceo@example.com"]
{
	addflag "\\Flagged";
}
# rule:[invoices]
if anyof (header :contains "subject" ["invoice", "Rechnung", "請求書"], address :domain :is "from" "billing.example.net")
{
	fileinto "Invoices";
	stop;
}
# rule:[plus]
if envelope :detail :matches "to" "*"
{
	if string :is "${1}" "" { keep; } else { fileinto :create "Plus/${1}"; }
	stop;
}
# rule:[newsletter]
if allof (exists "list-unsubscribe", not header :contains "precedence" "list", size :over 50K)
{
	fileinto "Newsletters";
	stop;
}
# rule:[urgent]
if body :text :contains "URGENT"
{
	addflag "$Important";
}
