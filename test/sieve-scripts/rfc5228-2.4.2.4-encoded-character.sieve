# RFC 5228 §2.4.2.4: encoded-character: ${hex:…} and ${unicode:…}, and what stays literal.
require ["encoded-character", "fileinto"];
if header :contains "subject" "${hex:48 65 6C 6C 6F}" { fileinto "hex-hello"; }
fileinto "${unicode:3042}-${UNICODE:0041}-${hex:}-${hex:zz}-${hex: 41 }";
