# RFC 6609 §3.4: the global-variables example, with the requires it needs (fileinto,
# relational), its scripts in include/personal/.
require ["variables", "include", "fileinto", "relational"];
global "test";
global "test_mailbox";

set "test" "$$";
include "subject_tests";

set "test" "Make money";
include "subject_tests";

if string :count "eq" "${test_mailbox}" "1"
{
    fileinto "${test_mailbox}";
    stop;
}
