# RFC 5230 §9: redirect the boss, answer everyone else.
require "vacation";
if header :contains "from" "boss@example.edu" {
    redirect "pleeb@xanadu.example.com";
} else {
    vacation "Sorry, I'm away, I'll read your
message when I get around to it.";
}
