# RFC 5293 §4.1/§5: Received and Auto-Submitted are the fields implementations protect
# (adding/deleting them is ignored or an error): both must agree on which.
require ["editheader"];
addheader "Received" "from localhost by localhost";
deleteheader "Auto-Submitted";
deleteheader "Subject";
addheader "Subject" "=?utf-8?q?replaced?=";
keep;
