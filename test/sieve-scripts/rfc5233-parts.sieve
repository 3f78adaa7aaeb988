# RFC 5233 §4: :user and :detail on header and envelope addresses; an address without a
# separator has no detail (:detail does not match, not even ""), "user+" an empty one.
require ["envelope", "subaddress", "fileinto", "variables"];
if envelope :detail :matches "to" "*" { fileinto "env-detail-${1}"; }
if envelope :user :matches "to" "*" { fileinto "env-user-${1}"; }
if address :detail :is "to" "" { fileinto "to-empty-detail"; }
if address :detail :matches "to" "*" { fileinto "to-detail-${1}"; }
if address :user :contains "from" "alice" { fileinto "from-alice"; }
if not envelope :detail :matches "from" "*" { fileinto "from-no-detail"; }
