import type { Command, CommandGroup } from './command.js';
import { COMMAND_GROUPS, COMMANDS } from './commands/index.js';
import { commandHelp, globalHelp, groupHelp, groupMembers, usageLines, usageReminder } from './help.js';
import { type Arguments, matchArguments, parseSynopsis, splitArguments } from './usage.js';

/** What a command line asks for, decided before anything runs or any module loads. */
export type Call =
  | { readonly kind: 'run'; readonly command: Command; readonly args: Arguments }
  /** Help on stdout, exit 0. */
  | { readonly kind: 'help'; readonly text: string }
  /** A wrong use: these lines on stderr, exit 2. */
  | { readonly kind: 'usage'; readonly lines: readonly string[] };

const REFUSED_PASSWORD =
  'passwords are never taken from the command line (ps and shell history show it): use --password-stdin or the prompt';

export function parseCall(argv: readonly string[]): Call {
  // `--help` anywhere before `--`, or `tegami help <command>`, asks for help instead.
  const end = argv.includes('--') ? argv.indexOf('--') : argv.length;
  const isHelp = (arg: string, i: number) =>
    (i === 0 && arg === 'help') || (i < end && (arg === '--help' || arg === '-h'));
  const wantsHelp = argv.some(isHelp);
  const words = argv.filter((arg, i) => !isHelp(arg, i));
  const { operands } = splitArguments(words);
  const [first, second, third] = operands;

  if (first === undefined) {
    return wantsHelp
      ? { kind: 'help', text: globalHelp(COMMAND_GROUPS) }
      : { kind: 'usage', lines: [globalHelp(COMMAND_GROUPS)] };
  }
  // A command is named by up to three words (`sieve global put`), the longest name first.
  const named = [`${first} ${second} ${third}`, `${first} ${second}`, first].flatMap((name, i) => {
    const found = COMMANDS.find((c) => c.name === name);
    return found ? [{ command: found, words: 3 - i }] : [];
  })[0];
  if (named) {
    const { command } = named;
    if (wantsHelp) {
      // `tegami import --help`: a command whose name is also a group's word shows the group too.
      const group = named.words === 1 ? COMMAND_GROUPS.find((g) => g.word === first) : undefined;
      const text = commandHelp(command);
      return { kind: 'help', text: group ? `${groupHelp(group)}\n\n${text}` : text };
    }
    const rest = [...words];
    for (const word of operands.slice(0, named.words)) rest.splice(rest.indexOf(word), 1);
    return parseArguments(command, rest);
  }
  const group = COMMAND_GROUPS.find((g) => g.word === first);
  if (group) return groupCall(group, second, wantsHelp);
  return { kind: 'usage', lines: [`tegami: unknown command: ${first} (tegami --help lists the commands)`] };
}

function parseArguments(command: Command, rest: readonly string[]): Call {
  const { flags } = splitArguments(rest);
  if (flags.some((flag) => flag === '--password' || flag.startsWith('--password=') || flag === '-p')) {
    return { kind: 'usage', lines: [`tegami: ${REFUSED_PASSWORD}`] };
  }
  const match = matchArguments(command.usage.map(parseSynopsis), rest);
  if (!match.ok) return usageFailure(command, match.problem);
  return { kind: 'run', command, args: match.args };
}

/** `tegami user`, `tegami user frob`, `tegami user --help`. */
function groupCall(group: CommandGroup, second: string | undefined, wantsHelp: boolean): Call {
  if (wantsHelp && second === undefined) return { kind: 'help', text: groupHelp(group) };
  const word = group.word!;
  const members = groupMembers(group);
  const problem =
    second === undefined
      ? `tegami: ${word} needs a command: ${members.map((c) => c.name.slice(word.length + 1)).join(', ')}`
      : `tegami: unknown command: ${word} ${second} (tegami ${word} --help lists its commands)`;
  const usage = members.flatMap(usageLines).map((line, i) => `${i === 0 ? 'usage:' : '      '} ${line}`);
  return { kind: 'usage', lines: [problem, ...usage] };
}

/** One line saying what is wrong, then the command's usage. */
export function usageFailure(command: Command, problem: string): Extract<Call, { kind: 'usage' }> {
  return { kind: 'usage', lines: [`tegami: ${command.name}: ${problem}`, usageReminder(command)] };
}
