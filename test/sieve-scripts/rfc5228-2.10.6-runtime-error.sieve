# RFC 5228 §2.10.6 and §4.2: too many redirects is a run-time error (Pigeonhole's and
# Tegami's limit: 4), after which only the implicit keep stands.
redirect "one@example.org";
redirect "two@example.org";
redirect "three@example.org";
redirect "four@example.org";
redirect "five@example.org";
