# RFC 5260 §7: file by the current month and year. Both answer the clock of the run
# (Tegami is given the time sieve-test runs at, in UTC), so only a run across a month's end
# could tell them apart.
require ["date", "variables", "fileinto", "relational"];
if currentdate :zone "+0000" :matches "month" "*" { set "month" "${1}"; }
if currentdate :zone "+0000" :matches "year"  "*" { set "year"  "${1}"; }
fileinto "${month}-${year}";
if currentdate :value "ge" "date" "2020-01-01" { fileinto "after-2020"; }
if currentdate :value "lt" "year" "2000" { fileinto "before-2000"; }
