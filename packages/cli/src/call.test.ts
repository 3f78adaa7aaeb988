import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCall } from './call.js';
import { COMMAND_GROUPS, COMMANDS } from './commands/index.js';
import { globalHelp } from './help.js';
import { runCliInProcess } from './test-cli.js';
import { exampleArguments, parseSynopsis } from './usage.js';

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

/**
 * `user quota <address> <size>` as a reader of the help types it: the command's words,
 * then sample arguments that fit the rest.
 */
function typedAs(line: string): { name: string; argv: string[] } {
  const words = line.split(' ');
  const first = words.findIndex((w) => /^[<[-]/.test(w));
  const nameWords = first === -1 ? words : words.slice(0, first);
  const synopsis = first === -1 ? '' : words.slice(first).join(' ');
  return { name: nameWords.join(' '), argv: [...nameWords, ...exampleArguments(parseSynopsis(synopsis))] };
}

/** The command part of `printf … | DATABASE_URL=… tegami user add … --password-stdin`. */
function shellWords(line: string): string[] {
  const command = line.slice(line.lastIndexOf('tegami ') + 'tegami '.length);
  return [...command.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

function expectToRun(argv: readonly string[], name: string) {
  const call = parseCall(argv);
  expect(call, argv.join(' ')).toMatchObject({ kind: 'run', command: { name } });
}

describe('the usage the help and the README show', () => {
  it('parses every usage line of tegami --help as the command it names', () => {
    const lines = globalHelp(COMMAND_GROUPS)
      .split('\n')
      // A summary under a long usage starts further in.
      .filter((line) => /^ {2}\S/.test(line))
      .map((line) => line.trim().split(/ {2,}/)[0]!);
    expect(lines).toContain('queue retry --all');
    expect(lines).toHaveLength(COMMANDS.flatMap((c) => c.usage).length);
    for (const line of lines) {
      const { name, argv } = typedAs(line);
      expectToRun(argv, name);
    }
  });

  it("parses every line of the README's tegami block, and the block names every usage", () => {
    const block = /## The `tegami` command[\s\S]*?```\n([\s\S]*?)```/.exec(README)?.[1];
    expect(block).toBeDefined();
    const lines = block!
      .split('\n')
      .filter((line) => line.startsWith('tegami '))
      .map((line) => line.slice('tegami '.length).split(/ {2,}/)[0]!.trim());
    for (const line of lines) {
      const { name, argv } = typedAs(line);
      expectToRun(argv, name);
    }
    const usages = COMMANDS.flatMap((c) => c.usage.map((u) => `${c.name} ${u}`.trim()));
    expect([...lines].sort()).toEqual([...usages].sort());
  });

  it("parses every example of every command's help", () => {
    for (const command of COMMANDS) {
      expect(command.examples.length, command.name).toBeGreaterThan(0);
      for (const example of command.examples) expectToRun(shellWords(example), command.name);
    }
  });

  it('describes each flag a usage has, and no other', () => {
    for (const command of COMMANDS) {
      const flags = command.usage.flatMap((u) => {
        const synopsis = parseSynopsis(u);
        return [...synopsis.requiredFlags, ...synopsis.optionalFlags];
      });
      expect(Object.keys(command.options ?? {}).sort(), command.name).toEqual([...new Set(flags)].sort());
    }
  });
});

describe('help', () => {
  it('prints each command its own help: usage, what it does, options, examples; exit 0', async () => {
    for (const command of COMMANDS) {
      for (const argv of [
        [...command.name.split(' '), '--help'],
        [...command.name.split(' '), '-h'],
        ['help', ...command.name.split(' ')],
        [...command.name.split(' '), 'some-operand', '--help'],
      ]) {
        const run = await runCliInProcess(argv);
        expect(run.code, argv.join(' ')).toBe(0);
        expect(run.stderr).toBe('');
        expect(run.stdout).toMatch(new RegExp(`^Usage: tegami ${command.name}\\b`));
        expect(run.stdout).toContain(command.description);
        expect(run.stdout).toContain(`  ${command.examples[0]}`);
        for (const flag of Object.keys(command.options ?? {})) expect(run.stdout).toContain(`  ${flag}  `);
      }
    }
    const retry = await runCliInProcess(['queue', 'retry', '--help']);
    expect(retry.stdout).toMatch(/^Usage: tegami queue retry <queue-id>\n {7}tegami queue retry --all\n\n/);
    expect(retry.stdout).toMatch(/\nOptions:\n {2}--all {3}every waiting recipient of every message\n/);
  });

  it('prints a group its commands with tegami <group> --help, and all with --help or help', async () => {
    for (const group of COMMAND_GROUPS.filter((g) => g.word !== undefined)) {
      const run = await runCliInProcess([group.word!, '--help']);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout).toMatch(new RegExp(`^Usage: tegami ${group.word} <command>`));
      for (const command of group.commands.filter((c) => c.name.startsWith(`${group.word} `))) {
        expect(run.stdout).toContain(`  ${command.name}`);
      }
    }
    for (const argv of [['--help'], ['-h'], ['help']]) {
      const run = await runCliInProcess(argv);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout).toBe(`${globalHelp(COMMAND_GROUPS)}\n`);
    }
  });

  it("answers a wrong use with the reason and that command's usage on stderr, exit 2", async () => {
    for (const command of COMMANDS) {
      const run = await runCliInProcess([...command.name.split(' '), '--no-such-flag']);
      expect(run.code, command.name).toBe(2);
      expect(run.stdout).toBe('');
      const [reason, ...usage] = run.stderr.trimEnd().split('\n');
      expect(reason).toBe(`tegami: ${command.name}: unknown option --no-such-flag`);
      expect(usage.map((line) => line.replace(/^(usage:| {6}) /, ''))).toEqual(
        command.usage.map((u) => `tegami ${command.name} ${u}`.trim()),
      );
    }
    expect(await runCliInProcess(['queue', 'retry'])).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'tegami: queue retry: missing <queue-id> or --all\n' +
        'usage: tegami queue retry <queue-id>\n' +
        '       tegami queue retry --all\n',
    });
    expect(await runCliInProcess(['user', 'quota', 'q@example.test', 'lots'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^tegami: user quota: not a size: lots .*\nusage: tegami user quota /),
    });
  });

  it('names an unknown command, or the commands of a group, exit 2', async () => {
    expect(await runCliInProcess(['frobnicate'])).toEqual({
      code: 2,
      stdout: '',
      stderr: 'tegami: unknown command: frobnicate (tegami --help lists the commands)\n',
    });
    const group = await runCliInProcess(['alias']);
    expect(group.code).toBe(2);
    expect(group.stderr).toMatch(
      /^tegami: alias needs a command: add, list, remove\nusage: tegami alias add /,
    );
    const unknown = await runCliInProcess(['alias', 'frob']);
    expect(unknown.stderr).toMatch(/^tegami: unknown command: alias frob \(tegami alias --help lists its/);
    const nothing = await runCliInProcess([]);
    expect(nothing).toMatchObject({ code: 2, stdout: '', stderr: `${globalHelp(COMMAND_GROUPS)}\n` });
  });
});
