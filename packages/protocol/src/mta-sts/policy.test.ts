import { describe, expect, it } from 'vitest';
import {
  MTA_STS_MAX_AGE_LIMIT,
  mtaStsPolicyId,
  mxHostMatches,
  parseMtaStsPolicy,
  policyListsMx,
  renderMtaStsPolicy,
} from './policy.js';

describe('parseMtaStsPolicy', () => {
  it('reads the example policy of RFC 8461 §3.2', () => {
    const text =
      'version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n';
    expect(parseMtaStsPolicy(text)).toEqual({
      ok: true,
      policy: {
        mode: 'enforce',
        mx: ['mail.example.com', '*.example.net', 'backupmx.example.com'],
        maxAge: 604800,
      },
    });
  });

  it('takes LF line ends, blanks after the colon, unknown keys and a missing final line end', () => {
    expect(
      parseMtaStsPolicy(
        'version:STSv1\nmode:   testing\nfoo_bar: whatever\nmx: MX.Example.COM.\nmax_age: 86400',
      ),
    ).toEqual({
      ok: true,
      policy: { mode: 'testing', mx: ['mx.example.com'], maxAge: 86400 },
    });
  });

  it('needs no mx in mode none', () => {
    expect(parseMtaStsPolicy('version: STSv1\nmode: none\nmax_age: 0\n')).toEqual({
      ok: true,
      policy: { mode: 'none', mx: [], maxAge: 0 },
    });
  });

  it('keeps the first of a repeated key other than mx', () => {
    const parsed = parseMtaStsPolicy(
      'version: STSv1\nmode: testing\nmode: enforce\nmx: a.example\nmax_age: 5\n',
    );
    expect(parsed).toMatchObject({ ok: true, policy: { mode: 'testing' } });
  });

  it.each([
    ['a missing version', 'mode: enforce\nmx: a.example\nmax_age: 5\n', 'version is missing, not STSv1'],
    [
      'another version',
      'version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 5\n',
      'version is STSv2, not STSv1',
    ],
    ['an unknown mode', 'version: STSv1\nmode: strict\nmx: a.example\nmax_age: 5\n', 'mode is strict'],
    ['no max_age', 'version: STSv1\nmode: enforce\nmx: a.example\n', 'max_age is missing'],
    ['a negative max_age', 'version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n', 'max_age is -1'],
    [
      'an 11-digit max_age',
      'version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 12345678901\n',
      'max_age is 12345678901',
    ],
    [
      'a max_age over a year',
      `version: STSv1\nmode: enforce\nmx: a.example\nmax_age: ${MTA_STS_MAX_AGE_LIMIT + 1}\n`,
      `max_age ${MTA_STS_MAX_AGE_LIMIT + 1} is over the limit of ${MTA_STS_MAX_AGE_LIMIT}`,
    ],
    [
      'enforce without mx',
      'version: STSv1\nmode: enforce\nmax_age: 5\n',
      'mode enforce needs at least one mx',
    ],
    [
      'a wildcard in the middle',
      'version: STSv1\nmode: enforce\nmx: mx.*.example\nmax_age: 5\n',
      'mx "mx.*.example" is not a host name or *.domain',
    ],
    [
      'a bare wildcard',
      'version: STSv1\nmode: enforce\nmx: *\nmax_age: 5\n',
      'mx "*" is not a host name or *.domain',
    ],
    ['a line that is no field', 'version: STSv1\n<html>\n', 'line 2 is not a "key: value" field'],
  ])('refuses %s', (_what, text, error) => {
    expect(parseMtaStsPolicy(text)).toEqual({ ok: false, error });
  });

  it('reads back what renderMtaStsPolicy writes', () => {
    const policy = { mode: 'enforce' as const, mx: ['mx1.example.org', '*.example.org'], maxAge: 86400 };
    const text = renderMtaStsPolicy(policy);
    expect(text).toBe(
      'version: STSv1\r\nmode: enforce\r\nmx: mx1.example.org\r\nmx: *.example.org\r\nmax_age: 86400\r\n',
    );
    expect(parseMtaStsPolicy(text)).toEqual({ ok: true, policy });
  });
});

describe('mxHostMatches (RFC 8461 §4.1)', () => {
  it.each([
    ['mail.example.com', 'mail.example.com', true],
    ['mail.example.com', 'MAIL.Example.com.', true],
    ['mail.example.com', 'mail2.example.com', false],
    ['*.example.net', 'mx1.example.net', true],
    ['*.example.net', 'example.net', false],
    ['*.example.net', 'a.mx1.example.net', false],
    ['*.example.net', 'mx1.example.network', false],
    ['*.example.net', '.example.net', false],
  ])('%s against %s: %s', (pattern, host, matches) => {
    expect(mxHostMatches(pattern, host)).toBe(matches);
  });

  it('matches a host listed by any pattern of the policy', () => {
    const policy = { mx: ['mail.example.com', '*.example.net'] };
    expect(policyListsMx(policy, 'b.example.net')).toBe(true);
    expect(policyListsMx(policy, 'mail.example.org')).toBe(false);
  });
});

describe('mtaStsPolicyId', () => {
  it('is 32 letters and digits that change with the policy text', () => {
    const a = mtaStsPolicyId('version: STSv1\r\nmode: testing\r\nmx: a.example\r\nmax_age: 86400\r\n');
    const b = mtaStsPolicyId('version: STSv1\r\nmode: enforce\r\nmx: a.example\r\nmax_age: 86400\r\n');
    expect(a).toMatch(/^[a-z0-9]{32}$/);
    expect(b).not.toBe(a);
    expect(mtaStsPolicyId('version: STSv1\r\nmode: testing\r\nmx: a.example\r\nmax_age: 86400\r\n')).toBe(a);
  });
});
