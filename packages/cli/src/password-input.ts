import type { Readable, Writable } from 'node:stream';

/**
 * Reads a new password without it ever reaching argv (visible in `ps` and shell history):
 * from standard input with --password-stdin (scripts: `printf %s "$pw" | tegami user add …`),
 * or typed twice at a prompt with echo off.
 */
export async function readPasswordFromStdin(stdin: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.from(chunk));
  // One trailing line end is what `echo` adds, not part of the password.
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export interface Terminal {
  readonly input: NodeJS.ReadStream;
  readonly output: Writable;
}

export async function promptNewPassword(terminal: Terminal): Promise<string> {
  const first = await promptHidden(terminal, 'Password: ');
  const second = await promptHidden(terminal, 'Repeat password: ');
  if (first !== second) throw new PasswordInputError('the passwords do not match');
  return first;
}

export class PasswordInputError extends Error {}

/** One line typed with echo off (no repeat: a password that exists already, not a new one). */
export function promptHidden({ input, output }: Terminal, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    output.write(prompt);
    input.setRawMode(true);
    input.resume();
    let typed = '';
    const finish = (error?: Error) => {
      input.setRawMode(false);
      input.pause();
      input.off('data', onData);
      output.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (data: Buffer) => {
      for (const char of data.toString('utf8')) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003') return finish(new PasswordInputError('interrupted'));
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else typed += char;
      }
    };
    input.on('data', onData);
  });
}
