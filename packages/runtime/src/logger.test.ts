import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, stream };
}

describe('createLogger', () => {
  it('writes JSON lines with the service, the level as a word and an ISO time', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ service: 'pop-gateway', level: 'info', destination: stream });
    logger.info({ session: 7 }, 'client connected');
    logger.debug('not at info');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({
      level: 'info',
      service: 'pop-gateway',
      session: 7,
      msg: 'client connected',
    });
    expect(new Date(line.time).toISOString()).toBe(line.time);
    expect(line).not.toHaveProperty('pid');
  });

  it('follows the configured level', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ service: 'x', level: 'debug', destination: stream });
    logger.debug('shown');
    logger.trace('hidden');
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['shown']);
  });
});
