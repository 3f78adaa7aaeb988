# RFC 5436 §2.1 with RFC 6068 §2: several addresses in the URI's path, separated by commas.
require ["enotify"];
notify "mailto:alm@example.com,bob@example.com";
