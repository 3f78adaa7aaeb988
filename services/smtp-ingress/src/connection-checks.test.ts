import { createResolverClient, type ResolverClient } from '@tegami/rpc';
import { createLogger } from '@tegami/runtime';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { createConnectionChecker, NO_CONNECTION_CHECKS } from './connection-checks.js';
import { createSmtpMetrics } from './metrics.js';

const logger = createLogger({ service: 'test', level: 'silent' });
const resolvers: ResolverClient[] = [];
afterAll(() => {
  for (const resolver of resolvers) resolver.close();
});

/** A resolver at a closed port: the lookups started here fail or are cancelled. */
function closedPortResolver(): ResolverClient {
  const resolver = createResolverClient('127.0.0.1:1');
  resolvers.push(resolver);
  return resolver;
}

const deps = (connectionChecks = NO_CONNECTION_CHECKS, withResolver = true) => ({
  connectionChecks,
  logger,
  hostname: 'mx.example.test',
  ...(withResolver && { resolver: closedPortResolver() }),
});

describe('the connection checker', () => {
  it('is not there when every check is off', () => {
    expect(createConnectionChecker(deps(), createSmtpMetrics(new Registry()), () => [])).toBeUndefined();
  });

  it('refuses to start a check without a resolver to ask', () => {
    const on = { ...NO_CONNECTION_CHECKS, heloChecks: true };
    expect(() =>
      createConnectionChecker(deps(on, false), createSmtpMetrics(new Registry()), () => []),
    ).toThrow(/no dns-resolver/);
  });

  it('never checks a loopback client', () => {
    const on = { dnsblZones: ['bl.example'], requireReverseDns: true, heloChecks: true };
    const checker = createConnectionChecker(deps(on), createSmtpMetrics(new Registry()), () => [])!;
    const exempt = async () => false;
    for (const address of ['127.0.0.1', '127.0.0.2', '::1', '::ffff:127.0.0.1'])
      expect(checker.forClient(address, 'mx', exempt), address).toBeUndefined();
    const checks = checker.forClient('192.0.2.1', 'mx', exempt);
    expect(checks).toBeDefined();
    checks!.close();
  });
});
