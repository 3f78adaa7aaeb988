# RFC 3894 §3: :copy on redirect and fileinto keeps the implicit keep.
require ["copy", "fileinto"];
if header :contains "subject" "hello" {
    redirect :copy "other@example.net";
}
fileinto :copy "Archive";
