# RFC 5260 §6 (index): the second Received field's date, and :index/:last on header.
require ["date", "relational", "index", "fileinto"];
if date :value "gt" :index 2 :zone "-0500" "received"
        "iso8601" "2007-02-26T09:00:00-05:00"
{ redirect "aftercutoff@example.org"; }
if header :index 1 :contains "received" "by" { fileinto "first-received-by"; }
if header :index 1 :last :contains "received" "from" { fileinto "last-received-from"; }
if header :index 3 :matches "received" "*" { fileinto "has-third-received"; }
if address :index 2 :is :domain "to" "example.net" { fileinto "second-to-example-net"; }
