/** Columns padded to their widest cell; the last column is not padded. `(none)` for no rows. */
export function printTable(
  print: (line: string) => void,
  header: readonly string[],
  rows: readonly (readonly string[])[],
): void {
  if (rows.length === 0) {
    print('(none)');
    return;
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  for (const row of [header, ...rows]) {
    print(row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
  }
}
