# RFC 5228 §5.5: exists is true only when every named header is there.
require "fileinto";
if exists ["From", "Date"] {
   fileinto "has-from-and-date";
}
if not exists "X-Priority" {
   fileinto "no-priority";
}
