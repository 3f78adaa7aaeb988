import { UsageError } from './command.js';

const UNITS = ['K', 'M', 'G', 'T'] as const;

/** "1048576", "500K", "1.5G" (powers of 1024, as formatSize prints them). */
export function parseSize(text: string): number {
  // A fraction only with a unit: bytes are whole.
  const match = /^(?:(\d+)|(\d+\.\d+)(?=\s*[KMGT]))\s*([KMGT]?)B?$/i.exec(text.trim());
  if (!match) throw new UsageError(`not a size: ${text} (bytes, or a number with K, M, G or T)`);
  const unit = match[3]!.toUpperCase();
  const power = unit === '' ? 0 : UNITS.indexOf(unit as (typeof UNITS)[number]) + 1;
  const bytes = Math.floor(Number(match[1] ?? match[2]) * 1024 ** power);
  if (!Number.isSafeInteger(bytes)) throw new UsageError(`not a size: ${text} (too large)`);
  return bytes;
}

/**
 * Bytes as a person reads them, in the units parseSize takes: `812`, `340K`, `12.3M`, `2G`
 * (three significant digits at most; a whole number needs no decimal).
 */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return String(bytes);
  for (let i = 0; i < UNITS.length; i++) {
    const value = bytes / 1024 ** (i + 1);
    const rounded = value < 100 ? Math.round(value * 10) / 10 : Math.round(value);
    // 1023.97K is 1M, not 1024K.
    if (rounded < 1024 || i === UNITS.length - 1) return `${rounded}${UNITS[i]}`;
  }
  return String(bytes);
}

/** `12.3M / 500M (2%)`, or `12.3M / none` without a quota. */
export function formatUsage(usedBytes: number, quotaBytes: number | null): string {
  if (quotaBytes === null) return `${formatSize(usedBytes)} / none`;
  // Rounded down: 100% means full, not nearly so.
  const percent = quotaBytes === 0 ? (usedBytes > 0 ? 100 : 0) : Math.floor((usedBytes * 100) / quotaBytes);
  return `${formatSize(usedBytes)} / ${formatSize(quotaBytes)} (${percent}%)`;
}
