import { describe, expect, it } from 'vitest';
import { searchHeadersIn } from './search-text.js';

// Address fields are searched as written and as their addresses written out (issue 18).

const headers = (text: string) => searchHeadersIn(Buffer.from(`${text}\r\n\r\n`), 0, text.length + 4);

describe('search headers of address fields', () => {
  it('holds the decoded text, then the addresses written out, on a line of their own', () => {
    expect(headers('From: user-from @ domain.org (The Comment)')).toEqual([
      { name: 'from', value: 'user-from @ domain.org (the comment)\nthe comment <user-from@domain.org>' },
    ]);
    expect(headers('To: team: a@b.org, "c"@d.org;')).toEqual([
      { name: 'to', value: 'team: a@b.org, "c"@d.org;\nteam:, <a@b.org>, <c@d.org>' },
    ]);
    expect(headers('Cc: =?utf-8?q?J=C3=B6rg?= <J@X.ORG>')).toEqual([{ name: 'cc', value: 'jörg <j@x.org>' }]);
  });

  it('leaves other fields as they are', () => {
    expect(headers('Subject: a@b.org (x)')).toEqual([{ name: 'subject', value: 'a@b.org (x)' }]);
  });
});
