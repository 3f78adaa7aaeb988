# RFC 5173 §5: :raw, :content and :text, matched against words of the corpus and the
# generated messages, each result a flag.
require ["body", "imap4flags", "comparator-i;ascii-numeric"];
if body :raw :contains "Content-Transfer-Encoding" { addflag "raw-cte"; }
if body :raw :contains "=E3=83" { addflag "raw-qp"; }
if body :text :contains "dot" { addflag "text-dot"; }
if body :text :contains "テスト" { addflag "text-test-ja"; }
if body :text :contains "会議" { addflag "text-meeting-ja"; }
if body :text :contains "請求書" { addflag "text-invoice-ja"; }
if body :content "text/html" :contains "<" { addflag "html-part"; }
if body :content "multipart" :contains "This is a multi-part" { addflag "preamble"; }
if body :content "application/pdf" :contains "" { addflag "pdf"; }
if body :content ["image", "audio"] :contains "" { addflag "media"; }
if body :content "text/plain" :matches "*Hello*" { addflag "hello"; }
if body :content "message/rfc822" :contains "Subject" { addflag "rfc822-part"; }
if body :text :is "" { addflag "empty-body"; }
if body :raw :matches "*\r\n.*" { addflag "raw-dot-line"; }
