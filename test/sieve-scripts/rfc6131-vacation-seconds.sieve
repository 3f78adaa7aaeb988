# RFC 6131 §2: vacation :seconds.
require ["vacation", "vacation-seconds"];
if header :contains "subject" "urgent" {
    vacation :seconds 1800 "I'll be back within the hour";
} else {
    vacation :seconds 7200 :handle "slow" "I'm away for a few hours";
}
