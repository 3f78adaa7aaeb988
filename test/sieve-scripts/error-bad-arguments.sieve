# RFC 5228 §2.6/§5: a test with a missing argument (line 3) and a wrong tag.
require "fileinto";
if header :is "subject" { discard; }
fileinto :over "x";
