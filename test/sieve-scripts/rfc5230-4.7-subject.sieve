# RFC 5230 §4.7 and §9: :subject built with variables.
require ["vacation", "variables"];
if header :matches "subject" "*" {
    vacation :subject "Automatic response to: ${1}"
             "I'm away";
}
