# RFC 5229 §5: the string test.
require ["variables", "fileinto"];
set "state" "${state} pending";
if string :matches " ${state} " "* pending *" {
    # the above test always succeeds
    fileinto "pending";
}
if string :is "${unset}" "" { fileinto "unset-is-empty"; }
