# RFC 5228 §5.7: header :is "" matches an empty header, :contains "" any present one.
require "fileinto";
if header :is ["X-Caffeine"] [""] {
   fileinto "caffeine-empty";
}
if header :contains ["Subject"] [""] {
   fileinto "has-subject";
}
