# RFC 5429 §2.1/§2.2: reject is incompatible with keep and fileinto (a run-time error in
# both when both happen), compatible with discard; only one reject.
require ["reject", "fileinto"];
if header :contains "subject" "hello" {
    reject "no thanks";
    fileinto "Kept";
} elsif header :contains "subject" "money" {
    reject "no money";
    discard;
} else {
    reject "go away";
}
