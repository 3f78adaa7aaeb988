import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeMessage } from './describe-message.js';

const corpus = new URL('../../../../../shared/corpus/', import.meta.url);

describe('describeMessage', () => {
  it('stores the decoded Japanese text of an ISO-2022-JP message for SEARCH', () => {
    const raw = readFileSync(new URL('iso2022jp-attachments.eml', corpus));
    const described = describeMessage(raw);
    expect(described.searchText).toContain('テスト');
    const metadata = described.metadata;
    expect(metadata.size).toBe(raw.length);
    expect(metadata.root.children.length).toBeGreaterThan(1);
    expect(metadata.searchHeaders.find((h) => h.name === 'subject')?.value).toContain('テスト');
  });

  it('leaves out NUL characters, which Postgres text and jsonb refuse', () => {
    const raw = Buffer.from(
      'Subject: a\u0000b\r\nX-Other: =?utf-8?q?c=00d?=\r\n\r\nbody\u0000text\r\n',
      'latin1',
    );
    const described = describeMessage(raw);
    expect(JSON.stringify(described.metadata)).not.toContain('\\u0000');
    expect(described.searchText).not.toContain('\u0000');
    expect(described.searchText).toContain('body');
  });
});
