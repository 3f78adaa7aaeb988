# RFC 5228 §4.1: fileinto.
require "fileinto";
if header :contains ["from"] "coyote" {
   fileinto "INBOX.harassment";
}
