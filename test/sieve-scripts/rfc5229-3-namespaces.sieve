# RFC 5229 §3: variable names are case-insensitive; an unknown namespace or a bad
# reference stays literal; ${0} is the whole match.
require ["variables", "fileinto"];
set "Company" "ACME";
if header :matches "From" "*@*" { set "who" "${0}|${1}|${2}"; }
fileinto "${company}-${COMPANY}-${ company}-${}-${1a}";
if string :contains "${who}" "@" { fileinto "who"; }
