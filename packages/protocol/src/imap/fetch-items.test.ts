import { describe, expect, it } from 'vitest';
import { type FetchItem, fetchNeeds } from './fetch-items.js';
import type { SectionSpec } from './fetch-section.js';

const section = (spec: SectionSpec): FetchItem => ({
  kind: 'section',
  name: 'BODY',
  peek: true,
  spec,
  specText: '',
  partial: undefined,
});

describe('fetchNeeds', () => {
  it('asks for nothing of the message for UID, FLAGS and the sizes and dates', () => {
    expect(
      fetchNeeds([{ kind: 'uid' }, { kind: 'flags' }, { kind: 'size' }, { kind: 'internaldate' }]),
    ).toEqual({
      metadata: false,
      raw: false,
      header: false,
    });
    expect(fetchNeeds([{ kind: 'envelope' }, { kind: 'bodystructure' }])).toEqual({
      metadata: true,
      raw: false,
      header: false,
    });
  });

  it('says the header alone will do when every section is a top-level header', () => {
    const fields = section({ part: [], text: 'HEADER.FIELDS', fields: ['SUBJECT'] });
    const not = section({ part: [], text: 'HEADER.FIELDS.NOT', fields: ['RECEIVED'] });
    const header = section({ part: [], text: 'HEADER' });
    expect(fetchNeeds([{ kind: 'envelope' }, fields, not, header])).toEqual({
      metadata: true,
      raw: true,
      header: true,
    });
  });

  it('wants the whole message for any other section, a part header or BINARY', () => {
    const fields = section({ part: [], text: 'HEADER.FIELDS', fields: ['SUBJECT'] });
    for (const other of [
      section({ part: [] }),
      section({ part: [], text: 'TEXT' }),
      section({ part: [1] }),
      section({ part: [2], text: 'HEADER' }),
      section({ part: [1], text: 'MIME' }),
      { kind: 'binary', peek: true, part: [1], partial: undefined } as FetchItem,
    ]) {
      expect(fetchNeeds([fields, other])).toEqual({ metadata: true, raw: true, header: false });
    }
  });
});
