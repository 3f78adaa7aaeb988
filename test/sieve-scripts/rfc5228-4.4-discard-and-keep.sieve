# RFC 5228 §4.4: discard only cancels the implicit keep; an explicit keep still stores.
require "fileinto";
discard;
if header :contains "subject" "hello" { keep; }
if header :contains "subject" "money" { fileinto "Junk"; }
