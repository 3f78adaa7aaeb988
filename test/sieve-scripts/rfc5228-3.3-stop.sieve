# RFC 5228 §3.3: stop ends the script; the implicit keep stands unless cancelled.
require "fileinto";
if header :contains "subject" "money" {
   fileinto "Junk";
   stop;
}
if true { redirect "after-stop@example.org"; }
