# RFC 6609 §3.2: a personal script that returns early for a friend.
require ["include", "fileinto"];
if address :is "from" "friend@example.org" {
    fileinto "friends";
    return;
}
fileinto "not-friend";
