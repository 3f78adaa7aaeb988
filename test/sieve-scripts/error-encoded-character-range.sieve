# RFC 5228 §2.4.2.4: a Unicode value above 10FFFF is an error (line 3).
require ["encoded-character", "fileinto"];
fileinto "${unicode:110000}";
