# RFC 5228 §8: a missing semicolon; the error is at the token that follows (line 5).
require "fileinto";
if true {
    fileinto "a"
}
