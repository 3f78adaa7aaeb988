import { connectNatsBus, type MailBus } from '@tegami/bus';
import { createLogger, createMetricsRegistry } from '@tegami/runtime';
import { addDomain, createAccount, migrate, openStore, type StorePool } from '@tegami/store';
import { createTestDatabase, type TestDatabase, testNats } from '@tegami/testing';
import { type ImapGateway, startImapGateway } from '../../services/imap-gateway/src/imap-gateway.js';

// The imap-gateway the differential tests compare with Dovecot: in this process, on a
// fresh database and real NATS, one user in example.test, plain IMAP on a free loopback port.

export interface ImapGatewayUnderTest {
  readonly port: number;
  /** The implicit-TLS (IMAPS) port, when started with a certificate (STARTTLS is offered then too). */
  readonly tlsPort?: number;
  /** The ManageSieve port (RFC 5804), when started with `managesieve` (STARTTLS with a certificate). */
  readonly managesievePort?: number;
  readonly user: string;
  readonly password: string;
  stop(): Promise<void>;
}

export async function startImapGatewayUnderTest(
  service: string,
  options: {
    readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
    /** More users of example.test, with the same password (sharing between accounts, RFC 4314). */
    readonly otherUsers?: readonly string[];
    /** ManageSieve beside IMAP, on a free port of its own. */
    readonly managesieve?: boolean;
  } = {},
): Promise<ImapGatewayUnderTest> {
  const user = 'tester@example.test';
  const password = 'tester-password';
  let database: TestDatabase | undefined;
  let store: StorePool | undefined;
  let bus: MailBus | undefined;
  let gateway: ImapGateway | undefined;
  const stop = async () => {
    await gateway?.stop();
    await bus?.close();
    await store?.close();
    await database?.drop();
  };
  try {
    database = await createTestDatabase();
    store = openStore({ url: database.url, poolSize: 8 });
    await migrate(store.pool);
    await addDomain(store.pool, 'example.test');
    await createAccount(store.pool, user, password);
    for (const other of options.otherUsers ?? []) await createAccount(store.pool, other, password);
    const nats = await testNats();
    bus = await connectNatsBus({ servers: nats.url, prefix: nats.prefix });
    gateway = await startImapGateway({
      pool: store.pool,
      bus,
      logger: createLogger({ service, level: 'warn' }),
      metrics: createMetricsRegistry(service),
      hostname: 'imap.example.test',
      host: '127.0.0.1',
      imapPort: 0,
      imapsPort: options.tls ? 0 : undefined,
      tls: options.tls,
      idleTimeoutMs: 120_000,
      maxConnections: 20,
      maxConnectionsPerIp: 20,
      maxConnectionsPerUser: 10,
      // Plaintext LOGIN is allowed on loopback anyway.
      allowPlaintextAuth: false,
      maxMessageSize: 10 * 1024 * 1024,
      managesievePort: options.managesieve ? 0 : undefined,
    });
    const tlsPort = gateway.ports.imaps;
    const managesievePort = gateway.ports.managesieve;
    return {
      port: gateway.ports.imap!,
      ...(tlsPort !== undefined && { tlsPort }),
      ...(managesievePort !== undefined && { managesievePort }),
      user,
      password,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
