import type { StorePool } from '@tegami/store';
import { StoreError } from '@tegami/store';
import { type CommandContext, runCommand, USAGE, UsageError } from './commands.js';
import { NoDatabaseError, openCliStore } from './database.js';
import { PasswordInputError, promptNewPassword, readPasswordFromStdin } from './password-input.js';
import { cliLegacySasl } from './secrets-key.js';

export interface CliConfig {
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly natsServers: readonly string[];
  readonly natsPrefix: string;
  /** TEGAMI_SECRETS_KEY_FILE and TEGAMI_SASL_LEGACY_MECHANISMS, as the services read them. */
  readonly secretsKeyFile?: string | undefined;
  readonly saslLegacyMechanisms?: boolean | undefined;
}

export interface CliIo {
  readonly stdin: NodeJS.ReadStream;
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  /** One line for an unexpected error (connection refused, …), never a stack trace. */
  readonly describeError: (err: unknown) => string;
  /** For tests: the store to use instead of opening one from the config. */
  readonly openStore?: () => Promise<StorePool>;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** Runs `tegami …` and returns the exit code; every failure is one line on stderr. */
export async function runCli(argv: readonly string[], config: CliConfig, io: CliIo): Promise<number> {
  const { args, passwordFromStdin, help, refused } = parseFlags(argv);
  if (refused) {
    io.stderr(`tegami: ${refused}`);
    return EXIT_USAGE;
  }
  if (help || args.length === 0) {
    (help ? io.stdout : io.stderr)(USAGE);
    return help ? EXIT_OK : EXIT_USAGE;
  }
  let store: StorePool | undefined;
  try {
    store = await (io.openStore?.() ?? openCliStore(config.databaseUrl, config.dataDir));
    const context: CommandContext = {
      store,
      print: io.stdout,
      describeError: io.describeError,
      newPassword: () => newPassword(passwordFromStdin, io.stdin),
      legacySasl: () => cliLegacySasl(config),
      // Only a deployment has a NATS; the standalone's bus lives in its process.
      ...(config.databaseUrl ? { nats: { servers: config.natsServers, prefix: config.natsPrefix } } : {}),
    };
    return await runCommand(args, context);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`tegami: ${err.message} (tegami --help lists the commands)`);
      return EXIT_USAGE;
    }
    if (err instanceof StoreError || err instanceof NoDatabaseError || err instanceof PasswordInputError) {
      io.stderr(`tegami: ${err.message}`);
      return EXIT_FAILED;
    }
    io.stderr(`tegami: ${io.describeError(err)}`);
    return EXIT_FAILED;
  } finally {
    await store?.close().catch(() => undefined);
  }
}

function parseFlags(argv: readonly string[]) {
  const args: string[] = [];
  let passwordFromStdin = false;
  let help = false;
  let refused: string | undefined;
  for (const arg of argv) {
    if (arg === '--password-stdin') passwordFromStdin = true;
    else if (arg === '--help' || arg === '-h' || arg === 'help') help = true;
    else if (arg === '--password' || arg.startsWith('--password=') || arg === '-p') {
      refused =
        'passwords are never taken from the command line (ps and shell history show it): use --password-stdin or the prompt';
    } else if (arg.startsWith('-')) refused = `unknown option ${arg} (tegami --help lists the commands)`;
    else args.push(arg);
  }
  return { args, passwordFromStdin, help, refused };
}

async function newPassword(fromStdin: boolean, stdin: NodeJS.ReadStream): Promise<string> {
  if (fromStdin) return readPasswordFromStdin(stdin);
  if (!stdin.isTTY) {
    throw new PasswordInputError('no terminal to prompt for the password: pipe it in with --password-stdin');
  }
  return promptNewPassword({ input: stdin, output: process.stderr });
}
