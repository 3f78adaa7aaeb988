# RFC 6609 §3.2: :personal and :global, :once, :optional, and return (§3.3).
require ["include", "fileinto"];
include :personal "always_allow";
include :global "spam_tests";
include :personal :once "mailing_lists";
include :personal :once "mailing_lists";
include :optional "no_such_script";
fileinto "after-includes";
