# RFC 5436 §2 and §3: the mailto method: recipients in the URI's path and header fields,
# the URI's subject and body, :from and :importance.
require ["enotify"];
if header :contains "subject" "hello" {
    notify :from "me@example.net" :importance "1"
        "mailto:alm@example.com?to=bob@example.com&cc=carol@example.com&subject=New%20mail&body=Read%20it";
} else {
    notify :message "You got mail" "mailto:?to=alm@example.com&X-Custom=yes";
}
