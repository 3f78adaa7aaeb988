#!/usr/bin/env node
// Loads only what every command needs (the settings and the command table): the store,
// Postgres and NATS clients are imported by the commands that use them, so `--help` and a
// usage error take no longer than Node's own start (see cli.ts, commands/index.ts).
import {
  describeError,
  int,
  legacySaslSettings,
  loadConfigOrExit,
  mtaStsPublicationSettings,
  natsUrl,
  optional,
  path,
  postgresUrl,
  retentionSettings,
  string,
} from '@tegami/runtime/config';
import { runCli } from './cli.js';
import { EXIT_CLOSED_PIPE, isClosedPipe, lineWriter } from './standard-streams.js';

const config = loadConfigOrExit(
  {
    databaseUrl: optional(postgresUrl('DATABASE_URL')),
    dataDir: path('TEGAMI_DATA_DIR'),
    natsServers: natsUrl('NATS_URL'),
    natsPrefix: string('TEGAMI_NATS_PREFIX'),
    ...legacySaslSettings(),
    // The cost of the verifiers `user add` and `user passwd` write (the services' setting).
    passwordScryptLn: int('TEGAMI_PASSWORD_SCRYPT_LN', { min: 14, max: 20 }),
    hostname: string('TEGAMI_HOSTNAME'),
    // Checked when a report is sent (the address), so other commands start as fast as ever.
    reportFrom: optional(string('TEGAMI_REPORT_FROM')),
    reportOrgName: optional(string('TEGAMI_REPORT_ORG_NAME')),
    reportContact: optional(string('TEGAMI_REPORT_CONTACT')),
    mtaStsPolicy: mtaStsPublicationSettings(),
    resolverTarget: string('TEGAMI_RESOLVER_TARGET'),
    retention: retentionSettings(),
    // The source server's password for `tegami import imap`, when not in a file or typed.
    importPassword: optional(string('TEGAMI_IMPORT_PASSWORD')),
  },
  { service: 'cli' },
);

const stdout = lineWriter(process.stdout, { buffered: !process.stdout.isTTY });
// What goes to stderr comes after the output before it, as when both go to one file.
const stderr = lineWriter(process.stderr, { buffered: false, before: stdout.flush });
const code = await runCli(process.argv.slice(2), config, {
  stdin: process.stdin,
  stdout: stdout.write,
  stderr: stderr.write,
  describeError,
});
stdout.flush();
process.exitCode = code;
// Decided at exit, not now: a write to a pipe can fail after the command has returned,
// when the reader goes away while Node still holds lines for it.
process.on('exit', () => {
  const failure = stdout.failure();
  if (isClosedPipe(failure) || isClosedPipe(stderr.failure())) {
    process.exitCode = EXIT_CLOSED_PIPE;
  } else if (failure) {
    stderr.write(`tegami: cannot write to standard output: ${describeError(failure)}`);
    process.exitCode = 1;
  }
});
