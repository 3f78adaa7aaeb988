# RFC 3894 §3 with RFC 5228 §4.4: discard after :copy actions cancels the implicit keep.
require ["copy", "fileinto"];
fileinto :copy "Archive";
redirect :copy "other@example.net";
discard;
