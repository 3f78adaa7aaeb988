import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DovecotImap, startDovecotImap } from './support/dovecot-imap.js';
import { ImapTestClient } from './support/imap-client.js';
import { type ImapGatewayUnderTest, startImapGatewayUnderTest } from './support/imap-gateway-under-test.js';

// SORT (RFC 5256, SORT=DISPLAY RFC 5957, ESORT RFC 5267) and THREAD (ORDEREDSUBJECT,
// REFERENCES), Tegami against Dovecot. The same messages, APPENDed with the same internal
// dates, to both: subjects with Re:/Fwd:/[list] prefixes, "(fwd)" and "[fwd: …]", encoded
// words, dates in several zones, a missing and an unreadable Date, display names plain and
// encoded, threads by References and by In-Reply-To, a References chain with a missing
// message and replies to a message never received. Every command must get the same answer
// from both, except those in KNOWN_DIFFERENCES, where Dovecot departs from the RFC and
// Tegami's RFC answer is checked instead.

interface TestMessage {
  readonly internalDate: string;
  readonly header: readonly string[];
}

const MESSAGES: readonly TestMessage[] = [
  // 1
  {
    internalDate: '20-Jun-2026 10:00:00 +0000',
    header: [
      'Message-ID: <m1@example.org>',
      'Subject: Re: [list] Weekly report',
      'From: "Alice Smith" <alice@a.example>',
      'To: bob@b.example',
      'Cc: "Zed" <zed@z.example>',
      'Date: Mon, 1 Jun 2026 10:00:00 +0200',
      'References: <m0@example.org>',
    ],
  },
  // 2
  {
    internalDate: '19-Jun-2026 10:00:00 +0000',
    header: [
      'Message-ID: <m2@example.org>',
      'Subject: Weekly report',
      'From: "bob" <bob@b.example>',
      'To: "Alice Smith" <alice@a.example>',
      'Date: Sun, 31 May 2026 23:00:00 -0700',
    ],
  },
  // 3: no Date: the internal date is its sent date.
  {
    internalDate: '02-Jun-2026 12:00:00 +0000',
    header: [
      'Message-ID: <m3@example.org>',
      'Subject: =?utf-8?q?Caf=C3=A9_menu?=',
      'From: =?iso-8859-1?q?J=F6rg?= <jorg@j.example>',
      'To: "Carol" <carol@c.example>',
    ],
  },
  // 4
  {
    internalDate: '18-Jun-2026 10:00:00 +0000',
    header: [
      'Message-ID: <m4@example.org>',
      'Subject: =?utf-8?q?Fwd=3A_Caf=C3=A9_menu?=',
      'From: carol@c.example',
      'To: =?utf-8?q?Dave_Jones?= <dave@d.example>',
      'Cc: amy@a.example',
      'Date: Tue, 2 Jun 2026 09:00:00 +0000',
    ],
  },
  // 5
  {
    internalDate: '17-Jun-2026 10:00:00 +0000',
    header: [
      'Message-ID: <m5@example.org>',
      'Subject: [fwd: Lunch plans]',
      'From: "Dave Jones" <dave@d.example>',
      'To: bob@b.example',
      'Date: Wed, 3 Jun 2026 09:00:00 +0100',
    ],
  },
  // 6
  {
    internalDate: '16-Jun-2026 10:00:00 +0000',
    header: [
      'Message-ID: <m6@example.org>',
      'Subject: lunch plans (fwd)',
      'From: Eve <eve@e.example>',
      'To: "Zed" <zed@z.example>',
      'Date: Wed, 3 Jun 2026 07:30:00 -0100',
    ],
  },
  // 7
  {
    internalDate: '15-Jun-2026 10:00:00 +0000',
    header: [
      'Message-ID: <m7@example.org>',
      'Subject: RE: Re: Lunch Plans',
      'From: "Frank" <frank@f.example>',
      'To: "bob" <bob@b.example>',
      'Date: Thu, 4 Jun 2026 10:00:00 +0000',
    ],
  },
  // 8: a blob alone stays the subject.
  {
    internalDate: '14-Jun-2026 10:00:00 +0000',
    header: [
      'Message-ID: <m8@example.org>',
      'Subject: [PATCH]',
      'From: gina@g.example',
      'To: carol@c.example',
      'Date: Thu, 4 Jun 2026 11:00:00 +0000',
    ],
  },
  // 9
  {
    internalDate: '13-Jun-2026 10:00:00 +0000',
    header: [
      'Message-ID: <m9@example.org>',
      'Subject: Re[2]: status',
      'From: "Harry" <harry@h.example>',
      'To: alice@a.example',
      'Date: Fri, 5 Jun 2026 10:00:00 +0000',
    ],
  },
  // 10: no Subject.
  {
    internalDate: '12-Jun-2026 10:00:00 +0000',
    header: [
      'Message-ID: <m10@example.org>',
      'From: ivy@i.example',
      'To: Dave <dave@d.example>',
      'Date: Fri, 5 Jun 2026 12:00:00 +0000',
    ],
  },
  // 11: an obsolete named zone (EST, -0500).
  {
    internalDate: '11-Jun-2026 10:00:00 +0000',
    header: [
      'Message-ID: <m11@example.org>',
      'Subject: status',
      'From: "Jack" <jack@j.example>',
      'To: eve@e.example',
      'Date: Fri, 5 Jun 2026 06:00:00 EST',
    ],
  },
  // 12: an unreadable Date: the internal date is its sent date; a display name that is not ASCII.
  {
    internalDate: '01-Jun-2026 07:00:00 +0000',
    header: [
      'Message-ID: <m12@example.org>',
      'Subject: Status',
      'From: =?utf-8?q?=C3=89mile?= <kim@k.example>',
      'To: frank@f.example',
      'Date: sometime next week',
    ],
  },
  // 13–17: a thread by References and In-Reply-To, with a missing message in one chain.
  {
    internalDate: '10-Jun-2026 10:00:00 +0000',
    header: [
      'Message-ID: <t1@example.org>',
      'Subject: Trip',
      'From: "Liam" <liam@l.example>',
      'To: team@l.example',
      'Date: Sat, 6 Jun 2026 09:00:00 +0000',
    ],
  },
  {
    internalDate: '09-Jun-2026 10:00:00 +0000',
    header: [
      'Message-ID: <t2@example.org>',
      'Subject: Re: Trip',
      'From: "Mia" <mia@m.example>',
      'To: team@l.example',
      'Date: Sat, 6 Jun 2026 10:00:00 +0000',
      'In-Reply-To: <t1@example.org>',
      'References: <t1@example.org>',
    ],
  },
  {
    internalDate: '08-Jun-2026 10:00:00 +0000',
    header: [
      'Message-ID: <t3@example.org>',
      'Subject: Re: Trip',
      'From: "Liam" <liam@l.example>',
      'To: team@l.example',
      'Date: Sat, 6 Jun 2026 11:00:00 +0000',
      'References: <t1@example.org>\r\n <t2@example.org>',
    ],
  },
  {
    internalDate: '07-Jun-2026 10:00:00 +0000',
    header: [
      'Message-ID: <t4@example.org>',
      'Subject: Re: Trip',
      'From: "Noah" <noah@n.example>',
      'To: team@l.example',
      'Date: Sat, 6 Jun 2026 12:00:00 +0000',
      'In-Reply-To: <t2@example.org>',
    ],
  },
  {
    internalDate: '06-Jun-2026 10:00:00 +0000',
    header: [
      'Message-ID: <t5@example.org>',
      'Subject: Re: Trip',
      'From: "Olga" <olga@o.example>',
      'To: team@l.example',
      'Date: Sat, 6 Jun 2026 13:00:00 +0000',
      'References: <t1@example.org> <t-missing@example.org>',
    ],
  },
  // 18–20: two replies to a message never received, and a new message with its subject.
  {
    internalDate: '05-Jun-2026 10:00:00 +0000',
    header: [
      'Message-ID: <b1@example.org>',
      'Subject: Re: Budget',
      'From: "Paul" <paul@p.example>',
      'To: team@l.example',
      'Date: Sun, 7 Jun 2026 10:00:00 +0000',
      'References: <b0@example.org>',
    ],
  },
  {
    internalDate: '04-Jun-2026 10:00:00 +0000',
    header: [
      'Message-ID: <b2@example.org>',
      'Subject: Re: Budget',
      'From: "Quinn" <quinn@q.example>',
      'To: team@l.example',
      'Date: Sun, 7 Jun 2026 09:00:00 +0000',
      'In-Reply-To: <b0@example.org>',
    ],
  },
  {
    internalDate: '03-Jun-2026 10:00:00 +0000',
    header: [
      'Message-ID: <b3@example.org>',
      'Subject: Budget',
      'From: "Rita" <rita@r.example>',
      'To: team@l.example',
      'Date: Sun, 7 Jun 2026 11:00:00 +0000',
    ],
  },
  // 21: a Message-ID a message before it has: treated as having none (§4 REFERENCES A).
  {
    internalDate: '02-Jun-2026 10:00:00 +0000',
    header: [
      'Message-ID: <m2@example.org>',
      'Subject: Duplicate',
      'From: "Sam" <sam@s.example>',
      'To: team@l.example',
      'Date: Mon, 8 Jun 2026 10:00:00 +0000',
      'References: <t2@example.org>',
    ],
  },
  // 22–23: References that would make a loop.
  {
    internalDate: '21-Jun-2026 10:00:00 +0000',
    header: [
      'Message-ID: <l1@example.org>',
      'Subject: Round',
      'From: "Tom" <tom@t.example>',
      'Date: Tue, 9 Jun 2026 10:00:00 +0000',
      'References: <l2@example.org>',
    ],
  },
  {
    internalDate: '22-Jun-2026 10:00:00 +0000',
    header: [
      'Message-ID: <l2@example.org>',
      'Subject: Re: Round',
      'From: "Uma" <uma@u.example>',
      'Date: Tue, 9 Jun 2026 11:00:00 +0000',
      'References: <l1@example.org>',
    ],
  },
  // 24: a folded subject with tabs, leaders and a list blob inside "Re".
  {
    internalDate: '23-Jun-2026 10:00:00 +0000',
    header: [
      'Message-ID: <f1@example.org>',
      'Subject: Re [list]:\t[other]\r\n  Fwd:   folded    SUBJECT',
      'From: "Vic" <vic@v.example>',
      'Date: Wed, 10 Jun 2026 10:00:00 +0000',
    ],
  },
  // 25
  {
    internalDate: '24-Jun-2026 10:00:00 +0000',
    header: [
      'Message-ID: <f2@example.org>',
      'Subject: Folded subject',
      'From: "Wes" <wes@w.example>',
      'Date: Wed, 10 Jun 2026 09:00:00 +0000',
    ],
  },
];

const raw = (m: TestMessage, i: number) =>
  Buffer.from(`${m.header.join('\r\n')}\r\n\r\n${'body line\r\n'.repeat((i * 7) % 11)}`);

const KEYS = ['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO', 'DISPLAYFROM', 'DISPLAYTO'];

const COMMANDS = [
  ...KEYS.flatMap((key) => [`SORT (${key}) UTF-8 ALL`, `SORT (REVERSE ${key}) UTF-8 ALL`]),
  'SORT (SUBJECT DATE) UTF-8 ALL',
  'SORT (SUBJECT REVERSE DATE) UTF-8 ALL',
  'SORT (REVERSE SUBJECT ARRIVAL) UTF-8 ALL',
  'SORT (FROM REVERSE SIZE) UTF-8 ALL',
  'SORT (TO CC DATE) US-ASCII ALL',
  'SORT (DATE) UTF-8 SUBJECT trip',
  'SORT (DISPLAYFROM) UTF-8 NOT FROM liam',
  'SORT (SUBJECT) ISO-8859-1 SUBJECT menu',
  'UID SORT (DATE) UTF-8 ALL',
  'UID SORT (REVERSE SUBJECT) UTF-8 2:15',
  'SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL',
  'SORT RETURN () (SUBJECT) UTF-8 ALL',
  'SORT RETURN (COUNT) (SIZE) UTF-8 SUBJECT nothing-like-this',
  'UID SORT RETURN (MIN MAX ALL) (REVERSE ARRIVAL) UTF-8 ALL',
  'THREAD ORDEREDSUBJECT UTF-8 ALL',
  'THREAD ORDEREDSUBJECT UTF-8 1:12',
  'THREAD REFERENCES UTF-8 ALL',
  'THREAD REFERENCES UTF-8 NOT SUBJECT budget',
  'UID THREAD REFERENCES UTF-8 ALL',
  'UID THREAD ORDEREDSUBJECT UTF-8 ALL',
];

/** Commands both must refuse, alike: NO [BADCHARSET] or BAD. */
const REFUSED = [
  'SORT (SUBJECT) X-UNKNOWN ALL',
  'THREAD REFERENCES X-UNKNOWN ALL',
  'SORT () UTF-8 ALL',
  'SORT (SUBJECT) UTF-8',
  'SORT (REVERSE) UTF-8 ALL',
  'SORT (COLOR) UTF-8 ALL',
  'SORT RETURN (FOO) (DATE) UTF-8 ALL',
  'SORT (DATE) UTF-8 NOSUCHKEY',
  'THREAD FOO UTF-8 ALL',
  'THREAD REFERENCES UTF-8',
];

/**
 * Commands whose answers differ because Dovecot departs from the RFC: Tegami's answer
 * (what the RFC asks for) and why.
 */
const KNOWN_DIFFERENCES: Record<string, { readonly tegami: string; readonly why: string }> = {
  // RFC 5256 §1 (I18NLEVEL=1, which Dovecot advertises too): strings collate by
  // i;ascii-casemap, only a–z folded, then by octet. Dovecot collates by i;unicode-casemap,
  // which decomposes "É" to "E" + U+0301 and so puts "Émile" (message 12) among the E's;
  // by octet "É" (C3 89) comes after every ASCII letter.
  'SORT (DISPLAYFROM) UTF-8 ALL': {
    tegami: '* SORT 1 2 4 5 6 7 8 9 10 11 3 13 15 14 16 17 18 19 20 21 22 23 24 25 12 | OK',
    why: 'i;ascii-casemap, not i;unicode-casemap',
  },
  'SORT (REVERSE DISPLAYFROM) UTF-8 ALL': {
    tegami: '* SORT 12 25 24 23 22 21 20 19 18 17 16 14 13 15 3 11 10 9 8 7 6 5 4 2 1 | OK',
    why: 'i;ascii-casemap, not i;unicode-casemap',
  },
  'SORT (DISPLAYFROM) UTF-8 NOT FROM liam': {
    tegami: '* SORT 1 2 4 5 6 7 8 9 10 11 3 14 16 17 18 19 20 21 22 23 24 25 12 | OK',
    why: 'i;ascii-casemap, not i;unicode-casemap',
  },
  // RFC 5256 §4 REFERENCES (E.3): a reply or forward is a message whose "original subject
  // contains a subj-refwd part and/or a "(fwd)" subj-trailer". "[fwd: Lunch plans]"
  // (message 5) has neither (its "[fwd:" is a subj-fwd-hdr), so it is the original that
  // the forward (6) and the reply (7) with its base subject go under. Dovecot counts
  // "[fwd:" as a forward too, makes all three siblings under a dummy: ((5)(6)(7)).
  'THREAD REFERENCES UTF-8 ALL': {
    tegami:
      '* THREAD (2 1)((12 9)(11))(3 4)(5 (6)(7))(8)(10)(13 (14 (15)(16)(21))(17))((19)(18)(20))(23 22)(25 24) | OK',
    why: '"[fwd: …]" is no subj-refwd',
  },
  'THREAD REFERENCES UTF-8 NOT SUBJECT budget': {
    tegami: '* THREAD (2 1)((12 9)(11))(3 4)(5 (6)(7))(8)(10)(13 (14 (15)(16)(21))(17))(23 22)(25 24) | OK',
    why: '"[fwd: …]" is no subj-refwd',
  },
  'UID THREAD REFERENCES UTF-8 ALL': {
    tegami:
      '* THREAD (2 1)((12 9)(11))(3 4)(5 (6)(7))(8)(10)(13 (14 (15)(16)(21))(17))((19)(18)(20))(23 22)(25 24) | OK',
    why: '"[fwd: …]" is no subj-refwd',
  },
};

/** The SORT, THREAD or ESEARCH line of an answer, the ESEARCH tag left out. */
function answerOf(response: { tagged: string; untagged: readonly Buffer[] }): string {
  const status = /^\S+ (OK|NO|BAD)/.exec(response.tagged)?.[1] ?? response.tagged;
  const lines = response.untagged
    .map((b) => b.toString('utf8'))
    .filter((l) => /^\* (SORT|THREAD|ESEARCH)\b/.test(l))
    .map((l) => l.replace(/\(TAG "[^"]*"\) ?/, ''));
  return [...lines, status].join(' | ');
}

describe('SORT and THREAD against Dovecot', () => {
  let dovecot: DovecotImap;
  let tegami: ImapGatewayUnderTest;
  let d: ImapTestClient;
  let t: ImapTestClient;

  beforeAll(async () => {
    [dovecot, tegami] = await Promise.all([
      startDovecotImap(),
      startImapGatewayUnderTest('imap-sort-thread'),
    ]);
    [d, t] = await Promise.all([ImapTestClient.connect(dovecot.port), ImapTestClient.connect(tegami.port)]);
    await Promise.all([d.login(dovecot.user, dovecot.password), t.login(tegami.user, tegami.password)]);
    for (const client of [d, t]) {
      for (const [i, message] of MESSAGES.entries()) {
        const { tagged } = await client.append('INBOX', raw(message, i), [], message.internalDate);
        if (!/^\S+ OK/.test(tagged)) throw new Error(`APPEND failed: ${tagged}`);
      }
      const { tagged } = await client.command('SELECT INBOX');
      if (!/^\S+ OK/.test(tagged)) throw new Error(`SELECT failed: ${tagged}`);
    }
  }, 60_000);

  afterAll(async () => {
    await d?.close();
    await t?.close();
    await tegami?.stop();
    await dovecot?.stop();
  });

  it('advertises SORT, SORT=DISPLAY, ESORT and both THREAD algorithms, as Dovecot does', async () => {
    const [dr, tr] = await Promise.all([d.command('CAPABILITY'), t.command('CAPABILITY')]);
    const atoms = (r: { untagged: readonly Buffer[] }) =>
      new Set(
        r.untagged
          .map(String)
          .find((l) => l.startsWith('* CAPABILITY'))
          ?.split(' '),
      );
    for (const atom of ['SORT', 'SORT=DISPLAY', 'ESORT', 'THREAD=ORDEREDSUBJECT', 'THREAD=REFERENCES']) {
      expect(atoms(dr).has(atom), `dovecot ${atom}`).toBe(true);
      expect(atoms(tr).has(atom), `tegami ${atom}`).toBe(true);
    }
  });

  it('answers every SORT and THREAD as Dovecot does, but for the known differences', async () => {
    const differences: string[] = [];
    for (const command of COMMANDS) {
      const [dr, tr] = await Promise.all([d.command(command), t.command(command)]);
      const [dovecotAnswer, tegamiAnswer] = [answerOf(dr), answerOf(tr)];
      expect(tegamiAnswer, command).toMatch(/\| OK$/);
      const known = KNOWN_DIFFERENCES[command];
      if (known) {
        if (tegamiAnswer !== known.tegami)
          differences.push(
            `${command} (known: ${known.why})\n  expected ${known.tegami}\n  tegami   ${tegamiAnswer}\n  dovecot  ${dovecotAnswer}`,
          );
        if (dovecotAnswer === tegamiAnswer)
          differences.push(`${command}: Dovecot now agrees; drop it from KNOWN_DIFFERENCES`);
      } else if (dovecotAnswer !== tegamiAnswer) {
        differences.push(`${command}\n  dovecot ${dovecotAnswer}\n  tegami  ${tegamiAnswer}`);
      }
    }
    expect(differences.join('\n')).toBe('');
  });

  it('refuses what Dovecot refuses, with the same status', async () => {
    for (const command of REFUSED) {
      const [dr, tr] = await Promise.all([d.command(command), t.command(command)]);
      const status = (tagged: string) => /^\S+ (OK|NO|BAD)/.exec(tagged)?.[1];
      expect(status(tr.tagged), command).toBe(status(dr.tagged));
      expect(status(tr.tagged), command).not.toBe('OK');
      if (status(dr.tagged) === 'NO') expect(tr.tagged, command).toMatch(/NO \[BADCHARSET/);
    }
  });
});
