// The base subject of RFC 5256 §2.1: what SORT SUBJECT and both THREAD algorithms compare,
// the subject without the "Re:", "Fwd:", "[list]" and "(fwd)" that mail software adds. The
// RFC says every server and disconnected client MUST use exactly its procedure, so that
// online and offline sorting agree; the steps below are its steps, in its order.
//
//   subj-refwd   = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
//   subj-blob    = "[" *BLOBCHAR "]" *WSP
//   subj-leader  = (*subj-blob subj-refwd) / WSP
//   subj-trailer = "(fwd)" / WSP
//   subj-fwd     = "[fwd:" subject "]"

import { decodeEncodedWords } from '../mime/encoded-words.js';

export interface BaseSubject {
  /** The base subject (UTF-8 text, case kept). */
  readonly text: string;
  /**
   * The original subject had a subj-refwd ("Re:", "Fwd:", "Fw[x]:") or a "(fwd)" trailer:
   * THREAD=REFERENCES step (E) treats such a message as a reply or forward.
   */
  readonly replyOrForward: boolean;
}

// Matched against text whose whitespace is already single spaces (step 1).
const LEADER_REFWD = /^(?:\[[^[\]]*\] ?)*(?:re|fwd?) ?(?:\[[^[\]]*\] ?)?:/i;
const BLOB = /^\[[^[\]]*\] ?/;
const FWD_TRAILER = /\(fwd\)$/i;

/** RFC 5256 §2.1 steps 1–7 on a Subject field as written (encoded words included); null is "". */
export function baseSubject(subject: string | null | undefined): BaseSubject {
  // (1) Encoded words to UTF-8; tabs, continuations and runs of spaces to one space.
  let text = decodeEncodedWords(subject ?? '').replace(/[ \t\r\n]+/g, ' ');
  let replyOrForward = false;
  for (;;) {
    // (2) Trailing "(fwd)" and WSP, as long as there are any.
    for (;;) {
      if (text.endsWith(' ')) text = text.slice(0, -1);
      else if (FWD_TRAILER.test(text)) {
        text = text.slice(0, -5);
        replyOrForward = true;
      } else break;
    }
    // (3)–(5) Leaders, and a blob when something is left after it, until neither is there.
    for (;;) {
      if (text.startsWith(' ')) {
        text = text.slice(1);
        continue;
      }
      const leader = LEADER_REFWD.exec(text);
      if (leader) {
        text = text.slice(leader[0].length);
        replyOrForward = true;
        continue;
      }
      const blob = BLOB.exec(text);
      // A blob is removed only when a non-empty subj-base follows it: "[PATCH]" alone stays.
      if (blob && blob[0].length < text.length) {
        text = text.slice(blob[0].length);
        continue;
      }
      break;
    }
    // (6) "[fwd: … ]" around the whole subject: unwrap it and start again from (2).
    if (text.length >= 6 && text.slice(0, 5).toLowerCase() === '[fwd:' && text.endsWith(']')) {
      text = text.slice(5, -1);
      continue;
    }
    // (7)
    return { text, replyOrForward };
  }
}
