# RFC 5173 §6: the body examples.
require ["body", "fileinto"];

# Save messages mentioning the project schedule in the
# project/schedule folder.
if body :text :contains "project schedule" {
     fileinto "project/schedule";
}

# Save any message with any text MIME part that contains the
# words "missile" or "coordinates" in the "secrets" folder.
if body :content "text" :contains ["missile", "coordinates"] {
        fileinto "secrets";
}

# Save any message with an audio attachment in the "music" folder.
if body :content "audio" :contains "" {
        fileinto "music";
}
