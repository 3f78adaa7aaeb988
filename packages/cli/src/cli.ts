import type { StorePool } from '@tegami/store';
import { type Call, parseCall, usageFailure } from './call.js';
import { type CliConfig, type CommandContext, UsageError } from './command.js';
import {
  PasswordInputError,
  promptHidden,
  promptNewPassword,
  readPasswordFromStdin,
} from './password-input.js';

export type { CliConfig } from './command.js';

export interface CliIo {
  readonly stdin: NodeJS.ReadStream;
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  /** One line for an unexpected error (connection refused, …), never a stack trace. */
  readonly describeError: (err: unknown) => string;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** Runs `tegami …` and returns the exit code; every failure is one line on stderr (and the usage). */
export async function runCli(argv: readonly string[], config: CliConfig, io: CliIo): Promise<number> {
  const call = parseCall(argv);
  if (call.kind !== 'run') return finish(call, io);
  const { command, args } = call;
  let store: Promise<StorePool> | undefined;
  const context: CommandContext = {
    config,
    store: () => {
      store ??= import('./database.js').then(({ openCliStore }) =>
        openCliStore(config.databaseUrl, config.dataDir),
      );
      return store;
    },
    print: io.stdout,
    warn: io.stderr,
    describeError: io.describeError,
    newPassword: () => newPassword(args.has('--password-stdin'), io.stdin),
    promptPassword: async (prompt) => {
      if (!io.stdin.isTTY) throw new PasswordInputError('no terminal to prompt for the password');
      return promptHidden({ input: io.stdin, output: process.stderr }, prompt);
    },
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of io.stdin) chunks.push(Buffer.from(chunk));
      return Buffer.concat(chunks);
    },
    legacySasl: async () => (await import('./secrets-key.js')).cliLegacySasl(config),
    secretsKeyring: async () => (await import('./secrets-key.js')).cliSecretsKeyring(config),
    txtLookup: async () => (await import('./txt-lookup.js')).openTxtLookup(config),
    // Only a deployment has a NATS; the standalone's bus lives in its process.
    ...(config.databaseUrl ? { nats: { servers: config.natsServers, prefix: config.natsPrefix } } : {}),
  };
  try {
    return await command.run(args, context);
  } catch (err) {
    if (err instanceof UsageError) return finish(usageFailure(command, err.message), io);
    // A refusal (StoreError, no database, password input) and a failure (connection
    // refused) alike: one line, never a stack trace.
    io.stderr(`tegami: ${err instanceof PasswordInputError ? err.message : io.describeError(err)}`);
    return EXIT_FAILED;
  } finally {
    const opened = await store?.catch(() => undefined);
    await opened?.close().catch(() => undefined);
  }
}

function finish(call: Exclude<Call, { kind: 'run' }>, io: CliIo): number {
  if (call.kind === 'help') {
    io.stdout(call.text);
    return EXIT_OK;
  }
  for (const line of call.lines) io.stderr(line);
  return EXIT_USAGE;
}

async function newPassword(fromStdin: boolean, stdin: NodeJS.ReadStream): Promise<string> {
  if (fromStdin) return readPasswordFromStdin(stdin);
  if (!stdin.isTTY) {
    throw new PasswordInputError('no terminal to prompt for the password: pipe it in with --password-stdin');
  }
  return promptNewPassword({ input: stdin, output: process.stderr });
}
