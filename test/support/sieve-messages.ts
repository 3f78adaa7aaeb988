import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SPAM_SCORE_FIELD, SPAM_THRESHOLD_FIELD, VIRUS_STATUS_FIELD } from './pigeonhole.js';

// The messages the Sieve differential test runs every script on: the shared corpus and
// messages made for the scripts (list and bulk mail, automatic replies, ISO-2022-JP, a
// multipart with attachments, plus-addressed recipients, spam and virus verdicts, dates in
// several zones), each with the envelope it arrives with. Lines end in CRLF.

export interface SieveTestMessage {
  readonly name: string;
  readonly bytes: Buffer;
  /** MAIL FROM (never empty: sieve-test cannot express the null sender). */
  readonly from: string;
  /** RCPT TO as the sender wrote it (`user+detail@domain`). */
  readonly to: string;
  /** The user's own address (the recipient with its detail removed). */
  readonly recipient: string;
  readonly spam?: { readonly score: number; readonly threshold: number };
  readonly virus?: number;
}

const ME = 'me@example.net';

function message(headers: readonly string[], body: string): Buffer {
  return Buffer.from(`${headers.join('\r\n')}\r\n\r\n${body.replace(/\r?\n/g, '\r\n')}`, 'utf8');
}

/** The verdicts as header fields, first in the message, where Pigeonhole is configured to read them. */
export function withVerdictFields(bytes: Buffer, spam?: SieveTestMessage['spam'], virus?: number): Buffer {
  const fields: string[] = [];
  if (spam) fields.push(`${SPAM_SCORE_FIELD}: ${spam.score}`, `${SPAM_THRESHOLD_FIELD}: ${spam.threshold}`);
  if (virus !== undefined) fields.push(`${VIRUS_STATUS_FIELD}: ${virus}`);
  return fields.length === 0 ? bytes : Buffer.concat([Buffer.from(`${fields.join('\r\n')}\r\n`), bytes]);
}

const RECEIVED = [
  'Received: from mx.example.org by mx.example.net; Sat, 24 Feb 2007 10:05:00 -0500',
  'Received: from relay.example.org by mx.example.org; Mon, 26 Feb 2007 09:30:00 -0500',
  'Received: from client.example.org by relay.example.org; Mon, 26 Feb 2007 08:59:00 -0500',
];

function attachment(type: string, name: string, bytes: number): string {
  const data = Buffer.from(Array.from({ length: bytes }, (_, i) => (i * 37 + 11) & 0xff));
  const lines = data.toString('base64').match(/.{1,76}/g) ?? [];
  return [
    `Content-Type: ${type}; name="${name}"`,
    `Content-Disposition: attachment; filename="${name}"`,
    'Content-Transfer-Encoding: base64',
    '',
    ...lines,
  ].join('\n');
}

const GENERATED: readonly SieveTestMessage[] = [
  {
    name: 'plain-to-me',
    from: 'alice@example.com',
    to: ME,
    recipient: ME,
    bytes: message(
      [
        ...RECEIVED,
        'From: Alice <alice@example.com>',
        `To: Me <${ME}>`,
        'Subject: hello world',
        'Date: Mon, 26 Feb 2007 10:15:00 -0500',
        'Message-ID: <plain-1@example.com>',
        'X-Priority: 1 (Highest)',
        'X-Caffeine:',
      ],
      'Hello,\nthe project schedule is attached.\n',
    ),
  },
  {
    name: 'list-acme-users',
    from: 'acme-users-bounces@lists.example.org',
    to: 'me+lists@example.net',
    recipient: ME,
    bytes: message(
      [
        'From: Wile Coyote <coyote@desert.example.org>',
        'To: acme-users@lists.example.org',
        'Subject: [acme-users] [fwd] version 1.0 is out',
        'Date: Sun, 25 Feb 2007 23:00:00 +0100',
        'Message-ID: <list-1@desert.example.org>',
        'List-Id: Acme users <acme-users.lists.example.org>',
        'List-Post: <mailto:acme-users@lists.example.org>',
        'Precedence: list',
      ],
      'Version 1.0 is out.\n',
    ),
  },
  {
    name: 'ietf-list-sender',
    from: 'owner-ietf-mta-filters@imc.org',
    to: ME,
    recipient: ME,
    bytes: message(
      [
        'From: Someone <someone@example.org>',
        'Sender: owner-ietf-mta-filters@imc.org',
        'To: ietf-mta-filters@imc.org',
        `Cc: ${ME}`,
        'Subject: Re: sieve vacation',
        'Date: Tue, 27 Feb 2007 14:00:00 +0000',
        'Message-ID: <ietf-1@example.org>',
      ],
      'Discussion.\n',
    ),
  },
  {
    name: 'bulk-money',
    from: 'offers@bulk.example.com',
    to: ME,
    recipient: ME,
    bytes: message(
      [
        'From: "Offers" <offers@bulk.example.com>',
        `To: ${ME}`,
        'Subject: MAKE MONEY FAST with your university diploma',
        'Date: Sat, 3 Mar 2007 03:00:00 +0800',
        'Message-ID: <bulk-1@bulk.example.com>',
        'Precedence: bulk',
      ],
      'Make money fast!\n',
    ),
  },
  {
    name: 'auto-replied',
    from: 'bob@example.org',
    to: ME,
    recipient: ME,
    bytes: message(
      [
        'From: Bob <bob@example.org>',
        `To: ${ME}`,
        'Subject: Auto: out of office',
        'Auto-Submitted: auto-replied (vacation)',
        'Date: Wed, 28 Feb 2007 08:00:00 -0800',
        'Message-ID: <auto-1@example.org>',
      ],
      'I am away.\n',
    ),
  },
  {
    name: 'auto-submitted-no',
    from: 'bob@example.org',
    to: ME,
    recipient: ME,
    bytes: message(
      [
        'From: Bob <bob@example.org>',
        `To: ${ME}`,
        'Subject: written by hand',
        'Auto-Submitted: no',
        'Message-ID: <auto-2@example.org>',
      ],
      'Hello.\n',
    ),
  },
  {
    name: 'from-mailer-daemon',
    from: 'MAILER-DAEMON@mx.example.org',
    to: ME,
    recipient: ME,
    bytes: message(
      [
        'From: Mail Delivery System <MAILER-DAEMON@mx.example.org>',
        `To: ${ME}`,
        'Subject: Undelivered Mail Returned to Sender',
        'Message-ID: <bounce-1@mx.example.org>',
      ],
      'This is the mail system.\n',
    ),
  },
  {
    name: 'suppress-oof',
    from: 'carol@example.com',
    to: ME,
    recipient: ME,
    bytes: message(
      [
        'From: Carol <carol@example.com>',
        `To: ${ME}`,
        'Subject: no autoreplies please',
        'X-Auto-Response-Suppress: OOF, AutoReply',
        'Message-ID: <oof-1@example.com>',
      ],
      'Body.\n',
    ),
  },
  {
    name: 'not-addressed-to-me',
    from: 'dave@example.com',
    to: ME,
    recipient: ME,
    bytes: message(
      [
        'From: Dave <dave@example.com>',
        'To: someone@else.example',
        'Subject: you were Bcc-ed',
        'Message-ID: <bcc-1@example.com>',
      ],
      'Body.\n',
    ),
  },
  {
    name: 'iso-2022-jp-subject',
    from: 'taro@example.jp',
    to: ME,
    recipient: ME,
    bytes: Buffer.concat([
      message(
        [
          'From: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <taro@example.jp>',
          `To: ${ME}`,
          'Subject: =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?= report',
          'Date: Thu, 1 Mar 2007 18:16:07 +0900',
          'Message-ID: <jp-1@example.jp>',
          'MIME-Version: 1.0',
          'Content-Type: text/plain; charset=ISO-2022-JP',
          'Content-Transfer-Encoding: 7bit',
        ],
        '',
      ),
      Buffer.from('\x1b$B%F%9%H$G$9\x1b(B\r\n', 'latin1'),
    ]),
  },
  {
    name: 'multipart-attachments',
    from: 'general@example.mil',
    to: ME,
    recipient: ME,
    bytes: message(
      [
        'From: General <general@example.mil>',
        `To: ${ME}, other@example.net`,
        'Cc: staff@example.mil',
        'Subject: coordinates',
        'Date: Fri, 2 Mar 2007 06:00:00 Z',
        'Message-ID: <mp-1@example.mil>',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="outer"',
      ],
      [
        'This is a multi-part message in MIME format.',
        '--outer',
        'Content-Type: multipart/alternative; boundary="inner"',
        '',
        '--inner',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: quoted-printable',
        '',
        'Hello, the missile coordinates are attached. =E3=83=86=E3=82=B9=E3=83=88',
        '.dot line',
        '--inner',
        'Content-Type: text/html; charset=utf-8',
        '',
        '<p>Hello, the <b>missile</b> coordinates are attached.</p>',
        '--inner--',
        '--outer',
        attachment('audio/mpeg', 'anthem.mp3', 300),
        '--outer',
        attachment('application/pdf', 'plan.pdf', 200),
        '--outer',
        'Content-Type: message/rfc822',
        '',
        'From: inner@example.mil',
        'Subject: forwarded',
        '',
        'Inner body.',
        '--outer--',
        '',
      ].join('\n'),
    ),
  },
  {
    name: 'plus-mta-filters',
    from: 'list-bounces@imc.org',
    to: 'ken+mta-filters@example.net',
    recipient: 'ken@example.net',
    bytes: message(
      [
        'From: poster@imc.org',
        'To: ken+mta-filters@example.net',
        'Subject: subaddress test',
        'Message-ID: <plus-1@imc.org>',
      ],
      'Body.\n',
    ),
  },
  {
    name: 'plus-foo',
    from: 'alice@example.com',
    to: 'ken+foo@example.net',
    recipient: 'ken@example.net',
    bytes: message(
      [
        'From: alice@example.com',
        'To: ken+foo@example.net',
        'Subject: foo',
        'Message-ID: <plus-2@example.com>',
      ],
      'Body.\n',
    ),
  },
  {
    name: 'plus-empty-detail',
    from: 'alice@example.com',
    to: 'ken+@example.net',
    recipient: 'ken@example.net',
    bytes: message(
      [
        'From: alice@example.com',
        'To: ken+@example.net',
        'Subject: empty detail',
        'Message-ID: <plus-3@example.com>',
      ],
      'Body.\n',
    ),
  },
  {
    name: 'to-postmaster',
    from: 'alice@example.com',
    to: 'postmaster+abuse@example.net',
    recipient: 'postmaster@example.net',
    bytes: message(
      [
        'From: alice@example.com',
        'To: postmaster@example.net',
        'Subject: abuse report',
        'Message-ID: <pm-1@example.com>',
      ],
      'Body.\n',
    ),
  },
  {
    name: 'many-recipients',
    from: 'coyote@desert.example.org',
    to: ME,
    recipient: ME,
    bytes: message(
      [
        'From: coyote@desert.example.org',
        'To: a@example.com, b@example.com, c@example.com, d@example.com, e@example.com,',
        ` f@example.com, ${ME}`,
        'Cc: Undisclosed: ;, "Quoted, Name" <q@example.com> (comment)',
        'Subject: I have a present for you',
        'Date: Tue, 1 Apr 1997 09:06:31 -0800 (PST)',
        'X-Priority: 3',
        'Message-ID: <many-1@desert.example.org>',
      ],
      'Birdseed.\n',
    ),
  },
  {
    name: 'boss-office-hours',
    from: 'boss@example.com',
    to: ME,
    recipient: ME,
    bytes: message(
      [
        'From: boss@example.com',
        `To: ${ME}`,
        'Subject: FYI: budget',
        'Date: Mon, 26 Feb 2007 10:00:00 -0500',
        'Message-ID: <boss-1@example.com>',
        'X-Priority: 2',
      ],
      'Numbers.\n',
    ),
  },
  {
    name: 'boss-edu',
    from: 'boss@example.edu',
    to: ME,
    recipient: ME,
    bytes: message(
      [
        'From: The Boss <boss@example.edu>',
        'Sender: boss@frobnitzm.example.edu',
        `To: ${ME}`,
        'Subject: lunch',
        'Date: Mon, 26 Feb 2007 18:30:00 +0000',
        'Message-ID: <boss-2@example.edu>',
      ],
      'Lunch?\n',
    ),
  },
  {
    name: 'coyote-big',
    from: 'coyote@desert.example.org',
    to: ME,
    recipient: ME,
    bytes: message(
      [
        'From: coyote@desert.example.org',
        'To: coyote@ACME.Example.COM',
        `Cc: ${ME}`,
        'Subject: birdseed',
        'Message-ID: <big-1@desert.example.org>',
      ],
      `${'All work and no play makes Wile a dull coyote.\n'.repeat(2600)}`,
    ),
  },
  {
    name: 'quoted-subject',
    from: 'stephan+sieve@it.example.com',
    to: ME,
    recipient: ME,
    bytes: message(
      [
        'From: "Stephan, B." <stephan+sieve@it.example.com>',
        `To: ${ME}`,
        'Subject: say "quoted" \\ back',
        'X-Empty: ',
        'Message-ID: odd-id-without-brackets',
      ],
      '',
    ),
  },
  {
    name: 'alert',
    from: 'monitor@example.com',
    to: ME,
    recipient: ME,
    bytes: message(
      [
        'From: monitor@example.com',
        `To: ${ME}`,
        'Subject: ALERT: disk full',
        'X-Event-ID: 4711',
        'Date: Sat, 3 Mar 2007 12:00:00 +0000',
        'Message-ID: <alert-1@example.com>',
      ],
      'Disk full.\n',
    ),
  },
  {
    name: 'friend',
    from: 'friend@example.org',
    to: ME,
    recipient: ME,
    bytes: message(
      [
        'From: friend@example.org',
        `To: ${ME}`,
        'Subject: Make money with me, old friend',
        'X-Sieve-Filtered: <kim@job.example.com>',
        'Message-ID: <friend-1@example.org>',
      ],
      'Hi.\n',
    ),
  },
  {
    name: 'spam-high',
    from: 'win@prize.example',
    to: ME,
    recipient: ME,
    spam: { score: 7.5, threshold: 6 },
    virus: 1,
    bytes: message(
      [
        'From: win@prize.example',
        `To: ${ME}`,
        'Subject: You won',
        'X-Spam-Flag: YES',
        'Message-ID: <spam-1@prize.example>',
      ],
      'Claim it.\n',
    ),
  },
  {
    name: 'spam-low',
    from: 'newsletter@shop.example',
    to: ME,
    recipient: ME,
    spam: { score: 2.2, threshold: 6 },
    virus: 4,
    bytes: message(
      ['From: newsletter@shop.example', `To: ${ME}`, 'Subject: offers', 'Message-ID: <spam-2@shop.example>'],
      'Offers.\n',
    ),
  },
  {
    name: 'spam-negative',
    from: 'colleague@example.com',
    to: ME,
    recipient: ME,
    spam: { score: -1.5, threshold: 5 },
    virus: 5,
    bytes: message(
      ['From: colleague@example.com', `To: ${ME}`, 'Subject: minutes', 'Message-ID: <spam-3@example.com>'],
      'Minutes.\n',
    ),
  },
  {
    name: 'spam-at-threshold',
    from: 'edge@example.com',
    to: ME,
    recipient: ME,
    spam: { score: 5, threshold: 5 },
    virus: 2,
    bytes: message(
      ['From: edge@example.com', `To: ${ME}`, 'Subject: edge', 'Message-ID: <spam-4@example.com>'],
      'x\n',
    ),
  },
];

/** The envelope of a corpus message: its From address to alice@example.com, who it is addressed to. */
const CORPUS_SENDERS: Readonly<Record<string, string>> = {
  'iso2022jp-attachments.eml': 'bob@nikkeibp.example',
  'malformed.eml': 'broken@example.com',
  'nested-alternative-rfc822.eml': 'juergen@example.de',
  'plain-rfc822.eml': 'bob@example.org',
  'shift-jis-body.eml': 'sales@example.co.jp',
  // sieve-test refuses the UTF-8 domain in -f: the ASCII form (RFC 5890 A-label).
  'utf8-headers.eml': 'taro@xn--r8jz45g.jp',
};

export function corpusMessages(dir: string): SieveTestMessage[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .map((f) => ({
      name: f,
      bytes: readFileSync(join(dir, f)),
      from: CORPUS_SENDERS[f] ?? 'sender@example.org',
      to: 'alice@example.com',
      recipient: 'alice@example.com',
    }));
}

export function generatedMessages(): readonly SieveTestMessage[] {
  return GENERATED.map((m) => ({ ...m, bytes: withVerdictFields(m.bytes, m.spam, m.virus) }));
}
