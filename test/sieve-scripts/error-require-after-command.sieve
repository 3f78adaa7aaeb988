# RFC 5228 §3.2: require must come before any other command (line 3).
keep;
require "fileinto";
