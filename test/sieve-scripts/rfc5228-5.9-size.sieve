# RFC 5228 §5.9: size :over / :under, with K and M quantifiers (§2.4.1).
require "fileinto";
if size :over 100K { fileinto "over-100k"; }
elsif size :over 1K { fileinto "over-1k"; }
elsif size :under 200 { fileinto "under-200"; }
