import { describe, expect, it } from 'vitest';
import { tlsaParameterNames, tlsaPresentation, usableTlsaRecords } from './tlsa-records.js';

const digest256 = new Uint8Array(32).fill(0xab);
const digest512 = new Uint8Array(64).fill(0xcd);

describe('TLSA records', () => {
  it('writes a record in presentation format, as a zone file and TLS-RPT do', () => {
    expect(tlsaPresentation({ usage: 3, selector: 1, matchingType: 1, data: digest256 })).toBe(
      `3 1 1 ${'ab'.repeat(32)}`,
    );
  });

  it('names the parameters as RFC 7218 does', () => {
    expect(tlsaParameterNames({ usage: 2, selector: 0, matchingType: 2, data: digest512 })).toBe(
      'DANE-TA Cert SHA2-512',
    );
    expect(tlsaParameterNames({ usage: 9, selector: 7, matchingType: 5, data: digest256 })).toBe(
      'usage 9 selector 7 matching 5',
    );
  });

  it('keeps DANE-TA and DANE-EE records with known parameters and well-formed data', () => {
    const records = [
      { usage: 3, selector: 1, matchingType: 1, data: digest256 },
      { usage: 2, selector: 0, matchingType: 0, data: new Uint8Array([0x30, 0x82]) },
      { usage: 1, selector: 1, matchingType: 1, data: digest256 },
      { usage: 0, selector: 0, matchingType: 1, data: digest256 },
      { usage: 3, selector: 1, matchingType: 1, data: digest512 },
      { usage: 3, selector: 0, matchingType: 0, data: new Uint8Array() },
      { usage: 4, selector: 1, matchingType: 1, data: digest256 },
    ];
    expect(usableTlsaRecords(records)).toEqual([records[0], records[1]]);
  });

  it('keeps only the strongest digest per usage and selector; a full value is no digest', () => {
    const records = [
      { usage: 3, selector: 1, matchingType: 1, data: digest256 },
      { usage: 3, selector: 1, matchingType: 2, data: digest512 },
      { usage: 3, selector: 1, matchingType: 0, data: new Uint8Array([1]) },
      { usage: 2, selector: 1, matchingType: 1, data: digest256 },
    ];
    expect(usableTlsaRecords(records)).toEqual([records[1], records[2], records[3]]);
  });
});
