# RFC 5260 §4.2: every date-part of the Date header, in the original zone and in UTC, and
# a weekend test on the first Received field (§7).
require ["date", "variables", "fileinto", "relational"];
if date :originalzone :matches "date" "date" "*" { set "d" "${1}"; }
if date :originalzone :matches "date" "time" "*" { set "t" "${1}"; }
if date :originalzone :matches "date" "zone" "*" { set "z" "${1}"; }
if date :originalzone :matches "date" "weekday" "*" { set "w" "${1}"; }
if date :originalzone :matches "date" "julian" "*" { set "j" "${1}"; }
if date :originalzone :matches "date" "iso8601" "*" { set "i" "${1}"; }
if date :originalzone :matches "date" "std11" "*" { set "s" "${1}"; }
fileinto "orig/${d}/${t}/${z}/${w}/${j}";
fileinto "iso/${i}";
fileinto "std11/${s}";
if date :zone "+0000" :matches "date" "iso8601" "*" { fileinto "utc/${1}"; }
if date :zone "-0830" :matches "date" "std11" "*" { fileinto "minus0830/${1}"; }
if anyof(date :is "received" "weekday" "0",
         date :is "received" "weekday" "6")
{ fileinto "weekend"; }
if date :value "ge" :zone "+0000" "date" "year" "2000" { fileinto "this-century"; }
