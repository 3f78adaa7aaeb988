# RFC 5228 §3.2: requiring an unknown extension is an error (line 2).
require ["fileinto", "x-no-such-extension"];
fileinto "never";
