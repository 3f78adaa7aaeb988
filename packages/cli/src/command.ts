import type { MtaStsPublication, RetentionSettings } from '@tegami/runtime/config';
import type { LegacySaslPolicy, SecretsKeyring, StorePool } from '@tegami/store';
import type { TxtLookup } from './txt-lookup.js';
import type { Arguments } from './usage.js';

/**
 * One `tegami` command: its name, its usage and its help, beside the code that runs it
 * (commands/*.ts). The parser reads `usage`, and the global help is made of every
 * command's usage and summary, so none of them can say something the others do not.
 */
export interface Command {
  /** The words that select it: `migrate`, `user add`. */
  readonly name: string;
  /** The synopses after the name, in the grammar of usage.ts: `<address> [--password-stdin]`. */
  readonly usage: readonly string[];
  /** One line for the global help. */
  readonly summary: string;
  /** What it does, for its own help: a few lines of text. */
  readonly description: string;
  /** Every flag of the usage, with what it does. */
  readonly options?: Readonly<Record<string, string>>;
  /** Whole command lines, runnable as they stand. */
  readonly examples: readonly string[];
  /** Runs it; the exit code (0, or 1 when it finds a problem, as `check` does). */
  run(args: Arguments, ctx: CommandContext): Promise<number>;
}

/** The settings the CLI runs with, from the environment (cli's main.ts), as the services read them. */
export interface CliConfig {
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly natsServers: readonly string[];
  readonly natsPrefix: string;
  /** TEGAMI_SECRETS_KEY_FILE and TEGAMI_SASL_LEGACY_MECHANISMS, as the services read them. */
  readonly secretsKeyFile?: string | undefined;
  readonly saslLegacyMechanisms?: boolean | undefined;
  /** TEGAMI_PASSWORD_SCRYPT_LN: the cost of the verifiers `user add` and `user passwd` write; the default when absent. */
  readonly passwordScryptLn?: number | undefined;
  /** TEGAMI_HOSTNAME: the reports' sender domain while there is no local domain. */
  readonly hostname: string;
  /** TEGAMI_REPORT_FROM, TEGAMI_REPORT_ORG_NAME, TEGAMI_REPORT_CONTACT. */
  readonly reportFrom?: string | undefined;
  readonly reportOrgName?: string | undefined;
  readonly reportContact?: string | undefined;
  /** TEGAMI_MTA_STS_MODE, _MX and _MAX_AGE, as smtp-ingress reads them (`tegami mta-sts`). */
  readonly mtaStsPolicy?: MtaStsPublication | undefined;
  /** TEGAMI_RESOLVER_TARGET: where `dkim check` and `report send` look records up in a deployment. */
  readonly resolverTarget?: string | undefined;
  /** TEGAMI_RETENTION_*, as the delivery-worker reads them (`tegami gc`). */
  readonly retention: RetentionSettings;
  /** TEGAMI_IMPORT_PASSWORD: the source server's password for `tegami import imap`. */
  readonly importPassword?: string | undefined;
}

/** Commands under one first word (`user add`, `user list`…), or single ones (`migrate`). */
export interface CommandGroup {
  /** The heading in the global help. */
  readonly title: string;
  /** The first word of its commands when they share one (`user`): `tegami user --help`. */
  readonly word?: string;
  /** For `tegami <word> --help`. */
  readonly description?: string;
  readonly commands: readonly Command[];
}

export interface CommandContext {
  readonly config: CliConfig;
  /** The message store, opened on first use (help and usage errors need none). */
  readonly store: () => Promise<StorePool>;
  /** The NATS to check, in a deployment (DATABASE_URL set); unset for the standalone. */
  readonly nats?: { readonly servers: readonly string[]; readonly prefix: string };
  readonly describeError: (err: unknown) => string;
  /** A line of the command's result, on standard output. */
  readonly print: (line: string) => void;
  /** A line about the result (a warning), on standard error. */
  readonly warn: (line: string) => void;
  /** Obtains a new password the safe way (stdin or prompt), never from argv. */
  readonly newPassword: () => Promise<string>;
  /** Asks once, echo off, on a terminal (another server's password); refused with no terminal. */
  readonly promptPassword: (prompt: string) => Promise<string>;
  /** Standard input, whole: what a `-` operand names (`tegami sieve put alice@… main -`). */
  readonly readStdin: () => Promise<Buffer>;
  /** Whether a new password gets CRAM-MD5/DIGEST-MD5 secrets, and the key that seals them. */
  readonly legacySasl: () => Promise<LegacySaslPolicy>;
  /** The key that seals DKIM private keys: TEGAMI_SECRETS_KEY_FILE or the standalone's; none without. */
  readonly secretsKeyring: () => Promise<SecretsKeyring | undefined>;
  /** TXT lookups through Tegami's dns-resolver (or this machine's when it cannot be reached). */
  readonly txtLookup: () => Promise<TxtLookup>;
}

/** A call that does not fit the command's usage: exit code 2, with the usage. */
export class UsageError extends Error {}
