# RFC 5293 §4: a field name with a space is invalid: an error at line 4.
require ["editheader"];
keep;
addheader "X Bad" "value";
