# RFC 5228 §5.7/§2.7.2: header values are unfolded and RFC 2047-decoded before matching;
# address tests see the addresses (§5.1), also in groups and with comments.
require ["fileinto", "imap4flags", "variables"];
if header :contains "subject" "テスト" { addflag "subject-test-ja"; }
if header :contains "subject" "請求書" { addflag "subject-invoice-ja"; }
if header :contains "subject" "会議" { addflag "subject-meeting-ja"; }
if header :matches "subject" "*" { set "s" "${1}"; }
if string :matches "${s}" "*=?*" { addflag "undecoded-left"; }
if address :all :contains ["from", "to", "cc"] "@" { addflag "has-address"; }
if address :localpart :is "from" "MAILER-DAEMON" { addflag "from-daemon"; }
if address :domain :is "to" "EXAMPLE.NET" { addflag "to-example-net"; }
if header :contains "from" "\"" { addflag "quoted-display"; }
if exists "x-empty" { addflag "x-empty-exists"; }
