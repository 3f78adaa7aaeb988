import { type DestinationStream, type Logger as PinoLogger, pino } from 'pino';

export type Logger = PinoLogger;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  readonly service: string;
  readonly level: LogLevel;
  /** Where the JSON lines go; standard output unless a test captures them. */
  readonly destination?: DestinationStream;
}

/**
 * JSON lines on standard output for the platform's log collector. Every line carries the
 * service (in the standalone, five share one stream), the level as a word rather than
 * pino's number (so a person reading `kubectl logs` can filter it) and an ISO time.
 * pid and hostname are left out: the platform labels the stream with its pod already.
 */
export function createLogger({ service, level, destination }: LoggerOptions): Logger {
  const options = {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return destination ? pino(options, destination) : pino(options);
}
