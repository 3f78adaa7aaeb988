import type { Command, CommandGroup } from './command.js';

/** `tegami user add <address> [--password-stdin]`, one line per synopsis. */
export function usageLines(command: Command): string[] {
  return command.usage.map((synopsis) => `tegami ${command.name}${synopsis === '' ? '' : ` ${synopsis}`}`);
}

/** What `tegami --help` prints: every command's usage and summary, under its group's title. */
export function globalHelp(groups: readonly CommandGroup[]): string {
  const width = columnWidth(groups.flatMap((g) => g.commands));
  const sections = groups.map(
    (group) => `${group.title}:\n${group.commands.map((c) => commandLines(c, width)).join('\n')}`,
  );
  return `Usage: tegami <command> [<arguments>]

${sections.join('\n\n')}

\`tegami <command> --help\` (or \`tegami help <command>\`) tells more about one, e.g.
\`tegami user add --help\`.

The database is DATABASE_URL, or else the standalone's embedded Postgres in
TEGAMI_DATA_DIR (default ./data). Passwords come from standard input with
--password-stdin, or from a prompt; never from the command line.
Exit codes: 0 success, 1 refused or failed, 2 a usage or configuration error.`;
}

/** The commands under a group's word (`user add`, …), not others filed with them (`trace`). */
export function groupMembers(group: CommandGroup): readonly Command[] {
  return group.commands.filter((c) => c.name.startsWith(`${group.word} `));
}

/** What `tegami user --help` prints. */
export function groupHelp(group: CommandGroup): string {
  const members = groupMembers(group);
  const width = columnWidth(members);
  return `Usage: tegami ${group.word} <command> [<arguments>]

${group.description ?? group.title}

${members.map((c) => commandLines(c, width)).join('\n')}

\`tegami ${group.word} <command> --help\` tells more about one, e.g. \`tegami ${members[0]!.name} --help\`.`;
}

/** What `tegami user add --help` prints: synopsis, what it does, its options, examples. */
export function commandHelp(command: Command): string {
  const [first, ...more] = usageLines(command);
  const parts = [
    [`Usage: ${first}`, ...more.map((line) => `       ${line}`)].join('\n'),
    command.description,
  ];
  const options = Object.entries(command.options ?? {});
  if (options.length > 0) {
    const width = Math.max(...options.map(([flag]) => flag.length)) + 3;
    parts.push(`Options:\n${options.map(([flag, text]) => `  ${flag.padEnd(width)}${text}`).join('\n')}`);
  }
  parts.push(
    `${command.examples.length === 1 ? 'Example' : 'Examples'}:\n${command.examples.map((e) => `  ${e}`).join('\n')}`,
  );
  return parts.join('\n\n');
}

/** The lines a wrong use prints after its one-line reason. */
export function usageReminder(command: Command): string {
  const [first, ...more] = usageLines(command);
  return [`usage: ${first}`, ...more.map((line) => `       ${line}`)].join('\n');
}

function commandLines(command: Command, width: number): string {
  return command.usage
    .map((synopsis, i) => {
      const text = `${command.name}${synopsis === '' ? '' : ` ${synopsis}`}`;
      const summary = i === 0 ? command.summary : '';
      // Too long for the column: the summary goes under it, in the column.
      if (text.length + 3 > width && summary !== '') return `  ${text}\n  ${' '.repeat(width)}${summary}`;
      return `  ${text.padEnd(width)}${summary}`.trimEnd();
    })
    .join('\n');
}

// Past this, a usage (one with flags that take values) would push every summary to the right.
const MAX_COLUMN = 46;

function columnWidth(commands: readonly Command[]): number {
  const texts = commands.flatMap((c) => c.usage.map((s) => `${c.name} ${s}`.trim()));
  const fitting = texts.map((t) => t.length + 3).filter((width) => width <= MAX_COLUMN);
  return Math.max(...fitting, Math.min(MAX_COLUMN, ...texts.map((t) => t.length + 3)));
}
