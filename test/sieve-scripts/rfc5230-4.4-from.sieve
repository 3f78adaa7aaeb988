# RFC 5230 §4.4: :from, and §4.1 :days.
require "vacation";
vacation :days 7 :from "hemingway@example.com" :subject "gone fishing"
  "I'm gone fishing.";
