# RFC 5228 §5.1: address.
if address :is :all "from" "tim@example.com" {
   discard;
}
