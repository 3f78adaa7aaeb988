# RFC 5435 §3.3: a literal method URI that is invalid is a compile error (line 3).
require ["enotify"];
notify "mailto:not an address";
