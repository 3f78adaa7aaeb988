import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createCommandMetrics, createErrorCounter } from './service-metrics.js';

describe('service metrics', () => {
  it('counts known commands by name and the rest as OTHER, with durations', async () => {
    const registry = new Registry();
    const commands = createCommandMetrics(registry, 'imap', new Set(['FETCH', 'UID FETCH']));
    commands.observe('FETCH', 'OK', 0.002);
    commands.observe('UID FETCH', 'NO', 0.3);
    commands.observe('XYZZY', 'BAD', 0);
    const text = await registry.metrics();
    expect(text).toContain('tegami_imap_commands_total{command="FETCH",result="ok"} 1');
    expect(text).toContain('tegami_imap_commands_total{command="UID FETCH",result="no"} 1');
    expect(text).toContain('tegami_imap_commands_total{command="OTHER",result="bad"} 1');
    expect(text).toContain('tegami_imap_command_duration_seconds_bucket{le="0.0025",command="FETCH"} 1');
    expect(text).toContain('tegami_imap_command_duration_seconds_count{command="UID FETCH"} 1');
  });

  it('gives services sharing a registry one error counter', async () => {
    const registry = new Registry();
    const a = createErrorCounter(registry);
    const b = createErrorCounter(registry);
    a.inc({ kind: 'storage' });
    b.inc({ kind: 'storage' });
    expect(await registry.metrics()).toContain('tegami_errors_total{kind="storage"} 2');
  });
});
