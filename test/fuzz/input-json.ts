// Fuzz inputs as JSON, for the crasher files (test/fuzz/crashers/<target>/<hash>.json) and
// for passing inputs between the runner and its worker: bytes, bigints and undefined, which
// JSON has no form for, are written as tagged objects and read back as they were.

import { createHash } from 'node:crypto';

type Tagged = { $bytes: string } | { $buffer: string } | { $bigint: string } | { $undefined: true };

function encodeValue(value: unknown): unknown {
  if (value === undefined) return { $undefined: true } satisfies Tagged;
  if (typeof value === 'bigint') return { $bigint: value.toString() } satisfies Tagged;
  if (Buffer.isBuffer(value)) return { $buffer: value.toString('base64') } satisfies Tagged;
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('base64') } satisfies Tagged;
  if (Array.isArray(value)) return value.map(encodeValue);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, encodeValue(v)]));
  }
  return value;
}

function decodeValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeValue);
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  if (typeof record.$bytes === 'string') return new Uint8Array(Buffer.from(record.$bytes, 'base64'));
  if (typeof record.$buffer === 'string') return Buffer.from(record.$buffer, 'base64');
  if (typeof record.$bigint === 'string') return BigInt(record.$bigint);
  if (record.$undefined === true) return undefined;
  return Object.fromEntries(Object.entries(record).map(([key, v]) => [key, decodeValue(v)]));
}

/** A JSON-safe form of any fuzz input. */
export function encodeInput(input: unknown): unknown {
  return encodeValue(input);
}

/** The input `encodeInput` wrote. */
export function decodeInput(json: unknown): unknown {
  return decodeValue(json);
}

/** A short stable name for an input: the crasher file's name, so one input is kept once. */
export function inputHash(input: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(encodeValue(input)))
    .digest('hex')
    .slice(0, 16);
}
