# RFC 5228 §2.9: an unknown command (line 3).
keep;
frobnicate "x";
