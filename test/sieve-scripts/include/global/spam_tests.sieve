# RFC 6609 §3.2: the administrator's spam tests.
require ["fileinto"];
if header :contains "subject" ["money", "viagra"] { fileinto "Junk"; }
