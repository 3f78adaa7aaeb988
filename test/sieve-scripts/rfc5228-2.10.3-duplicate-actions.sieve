# RFC 5228 §2.10.3: keep and fileinto into the same mailbox store once; redirecting twice
# to one address redirects once. RFC 5232 §5: each store's own flags.
require ["fileinto", "imap4flags"];
fileinto :flags "one" "Folder";
fileinto :flags "two" "Folder";
keep :flags "kept";
fileinto "INBOX";
redirect "twice@example.org";
redirect "twice@example.org";
