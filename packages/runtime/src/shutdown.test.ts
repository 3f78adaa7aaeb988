import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from './logger.js';
import { onShutdown, type SignalSource } from './shutdown.js';

const logger = createLogger({ service: 'test', level: 'silent' });

function harness(handler: () => Promise<void>, timeoutMs = 1000) {
  const signals = new EventEmitter();
  const exit = vi.fn<(code: number) => void>();
  const remove = onShutdown(handler, { timeoutMs, logger, signals: signals as SignalSource, exit });
  return { signals, exit, remove };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('onShutdown', () => {
  it('runs the handler once with the signal and exits 0 when it finishes', async () => {
    const handler = vi.fn(async () => {});
    const { signals, exit } = harness(handler);
    signals.emit('SIGTERM', 'SIGTERM');
    await vi.waitFor(() => expect(exit).toHaveBeenCalledWith(0));
    expect(handler).toHaveBeenCalledTimes(1);
    expect(handler).toHaveBeenCalledWith('SIGTERM');
  });

  it('exits 1 when the handler fails', async () => {
    const { signals, exit } = harness(async () => {
      throw new Error('could not close');
    });
    signals.emit('SIGINT', 'SIGINT');
    await vi.waitFor(() => expect(exit).toHaveBeenCalledWith(1));
    expect(exit).toHaveBeenCalledTimes(1);
  });

  it('exits 1 at the deadline when the handler does not finish, and only once', async () => {
    vi.useFakeTimers();
    let finish = () => {};
    const { signals, exit } = harness(() => new Promise<void>((resolve) => (finish = resolve)), 5000);
    signals.emit('SIGTERM', 'SIGTERM');
    await vi.advanceTimersByTimeAsync(4999);
    expect(exit).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(exit).toHaveBeenCalledWith(1);
    finish();
    await vi.advanceTimersByTimeAsync(10);
    expect(exit).toHaveBeenCalledTimes(1);
  });

  it('exits at once on a second signal, without running the handler again', async () => {
    const handler = vi.fn(() => new Promise<void>(() => {}));
    const { signals, exit } = harness(handler, 60_000);
    signals.emit('SIGTERM', 'SIGTERM');
    expect(exit).not.toHaveBeenCalled();
    signals.emit('SIGINT', 'SIGINT');
    expect(exit).toHaveBeenCalledWith(1);
    await Promise.resolve();
    expect(handler).toHaveBeenCalledTimes(1);
  });

  it('stops listening when removed', () => {
    const { signals, remove } = harness(async () => {});
    expect(signals.listenerCount('SIGTERM')).toBe(1);
    remove();
    expect(signals.listenerCount('SIGTERM')).toBe(0);
    expect(signals.listenerCount('SIGINT')).toBe(0);
  });
});

describe('onShutdown in a real process', () => {
  // The handler takes HANDLER_MS; the deadline is DEADLINE_MS. Prints "up" once listening.
  async function run(handlerMs: number, deadlineMs: number) {
    const dir = mkdtempSync(join(tmpdir(), 'tegami-shutdown-'));
    try {
      const script = join(dir, 'main.ts');
      const modules = new URL('.', import.meta.url).pathname;
      writeFileSync(
        script,
        `import { createLogger } from ${JSON.stringify(join(modules, 'logger.ts'))};
import { onShutdown } from ${JSON.stringify(join(modules, 'shutdown.ts'))};
const logger = createLogger({ service: 'probe', level: 'info' });
const alive = setInterval(() => {}, 1000);
onShutdown(async () => {
  await new Promise((resolve) => setTimeout(resolve, ${handlerMs}));
  clearInterval(alive);
}, { timeoutMs: ${deadlineMs}, logger });
console.log('up');
`,
      );
      const child = spawn(process.execPath, ['--import', 'tsx', script], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout.setEncoding('utf8');
      await new Promise<void>((resolve) =>
        child.stdout.on('data', (data: string) => {
          stdout += data;
          if (stdout.includes('up\n')) resolve();
        }),
      );
      child.kill('SIGTERM');
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      const messages = stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line).msg as string);
      return { code, messages };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('exits 0 after the handler, with its log lines written', async () => {
    const { code, messages } = await run(50, 5000);
    expect(code).toBe(0);
    expect(messages).toEqual(['shutting down', 'shut down']);
  });

  it('exits 1 at the deadline', async () => {
    const { code, messages } = await run(10_000, 200);
    expect(code).toBe(1);
    expect(messages).toEqual(['shutting down', 'shutdown did not finish within 200 ms: exiting']);
  });
});
