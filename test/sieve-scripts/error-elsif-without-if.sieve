# RFC 5228 §3.1: elsif must follow if (line 3).
keep;
elsif true { discard; }
