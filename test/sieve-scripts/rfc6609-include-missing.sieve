# RFC 6609 §3.2: including a script that does not exist (without :optional) fails (line 3).
require "include";
include :personal "not_there";
keep;
