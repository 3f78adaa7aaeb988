# RFC 5435 §5 and §6: valid_notify_method and notify_method_capability; only mailto is
# implemented by both (xmpp and tel are not).
require ["enotify", "imap4flags"];
if valid_notify_method "mailto:alm@example.com" { addflag "mailto-valid"; }
if valid_notify_method ["mailto:a@example.com", "xmpp:tim@example.com"] { addflag "both-valid"; }
if valid_notify_method "mailto:not an address" { addflag "bad-mailto-valid"; }
if notify_method_capability "mailto:alm@example.com" "Online" "maybe" { addflag "online-maybe"; }
if notify_method_capability "mailto:alm@example.com" "online" ["yes", "no"] { addflag "online-yes-no"; }
