# RFC 5228 §4.2: redirect.
redirect "bart@example.com";
