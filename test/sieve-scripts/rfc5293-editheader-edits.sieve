# RFC 5293 §4 and §5: addheader (first and :last), deleteheader by name, :index, :last and
# match types; tests later in the script see the edits (§6).
require ["editheader", "fileinto", "variables", "index"];
addheader "X-Filtered" "yes";
addheader :last "X-Trail" "last one";
deleteheader "X-Priority";
deleteheader :index 1 "Received";
deleteheader :index 1 :last "Received";
deleteheader :matches "X-Spam-*" "*";
deleteheader :contains "Cc" "example";
if header :matches "Subject" "*" { addheader "X-Old-Subject" "${1}"; }
if exists "X-Filtered" { fileinto "filtered"; }
if not exists "X-Priority" { fileinto "no-priority"; }
