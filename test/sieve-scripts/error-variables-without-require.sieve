# RFC 5229 §3: without "variables", "${x}" is a literal string: fileinto the literal name.
require "fileinto";
fileinto "box-${x}";
