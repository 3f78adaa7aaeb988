// `--json` on the list commands, for scripts: the rows as one JSON array of objects with
// camelCase keys that stay the same from release to release (a column of the table may be
// renamed or reworded; these keys are not), dates as ISO 8601 strings in UTC, sizes in bytes,
// absent values as null. An empty listing is `[]`, never nothing.

/** The option's help, the same on every list command. */
export const JSON_OPTION = {
  '--json': 'print a JSON array of objects (stable camelCase keys, ISO 8601 dates) instead of the table',
} as const;

export function printJson(print: (line: string) => void, rows: readonly object[]): void {
  // Date's toJSON is toISOString: every date comes out as ISO 8601 UTC.
  print(JSON.stringify(rows, null, 2));
}
