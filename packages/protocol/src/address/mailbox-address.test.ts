import { describe, expect, it } from 'vitest';
import { parseDomain, parseMailboxAddress } from './mailbox-address.js';

describe('parseMailboxAddress', () => {
  it('lower-cases the domain and the lookup key but keeps the local part as written', () => {
    expect(parseMailboxAddress('Alice.Smith@Example.ORG')).toEqual({
      ok: true,
      address: { localPart: 'Alice.Smith', domain: 'example.org', canonical: 'alice.smith@example.org' },
    });
  });

  it('turns an internationalised domain into A-labels', () => {
    const result = parseMailboxAddress('taro@例え.jp');
    expect(result.ok && result.address.domain).toBe('xn--r8jz45g.jp');
  });

  it.each([
    ['alice', 'not of the form'],
    ['@example.org', 'not of the form'],
    ['alice@', 'not of the form'],
    ['al ice@example.org', 'not a valid local part'],
    ['alice..smith@example.org', 'not a valid local part'],
    ['.alice@example.org', 'not a valid local part'],
    [`${'a'.repeat(65)}@example.org`, 'longer than 64'],
    ['alice@exa_mple.org', 'not a valid domain'],
    ['alice@-example.org', 'not a valid domain'],
    ['alice@[127.0.0.1]', 'address literals'],
    ['alice@127.0.0.1', 'IP address'],
  ])('refuses %s', (input, problem) => {
    const result = parseMailboxAddress(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem).toContain(problem);
  });
});

describe('parseDomain', () => {
  it('drops a trailing dot', () => {
    expect(parseDomain('localhost.')).toEqual({ ok: true, domain: 'localhost' });
  });
});
