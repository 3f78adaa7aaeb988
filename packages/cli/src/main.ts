#!/usr/bin/env node
import {
  describeError,
  legacySaslSettings,
  loadConfigOrExit,
  natsUrl,
  optional,
  path,
  postgresUrl,
  string,
} from '@tegami/runtime';
import { StoreError } from '@tegami/store';
import { runCli } from './cli.js';

const config = loadConfigOrExit(
  {
    databaseUrl: optional(postgresUrl('DATABASE_URL')),
    dataDir: path('TEGAMI_DATA_DIR'),
    natsServers: natsUrl('NATS_URL'),
    natsPrefix: string('TEGAMI_NATS_PREFIX'),
    ...legacySaslSettings(),
  },
  { service: 'cli' },
);

process.exitCode = await runCli(process.argv.slice(2), config, {
  stdin: process.stdin,
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
  describeError: (err) => (err instanceof StoreError ? err.message : describeError(err)),
});
