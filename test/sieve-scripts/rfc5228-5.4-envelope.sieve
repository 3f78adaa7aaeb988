# RFC 5228 §5.4: envelope.
require "envelope";
if envelope :all :is "from" "tim@example.com" {
   discard;
}
