export { createTestDatabase, type TestDatabase } from './database.js';
export {
  reverseDnsName,
  startTestDnsServer,
  type TestDnsAddress,
  type TestDnsNode,
  type TestDnsQuery,
  type TestDnsRecords,
  type TestDnsServer,
  type TestDnsServerOptions,
  type TestDnsSoa,
  type TestDnsTlsa,
} from './dns-server.js';
export { type JobQueueState, jobQueueState } from './job-queue.js';
export { LineClient } from './line-client.js';
export {
  type ArcSignOptions,
  arcSign,
  arcVerifyIndependently,
  type DkimCanonicalization,
  type DkimKey,
  type DkimKeyAlgorithm,
  type DkimSigningAlgorithm,
  type DkimSignOptions,
  type DkimVerifyOptions,
  dkimSign,
  dkimVerifyIndependently,
  generateDkimKey,
  type IndependentArcInstance,
  type IndependentArcVerdict,
  type IndependentDkimResult,
  type IndependentDkimVerdict,
  type IndependentDnsQuery,
  type IndependentMailAuth,
  type IndependentSpfResult,
  type IndependentSpfVerdict,
  independentMailAuth,
  type SpfCheckInput,
  spfCheckIndependently,
  toCharacterStrings,
} from './mail-auth/index.js';
export { type TestNats, testNats } from './nats.js';
export { freePort } from './ports.js';
export { cleanEnv, type Program, type ProgramRun, runProgram, startProgram } from './processes.js';
export {
  type ClaimedRedisDatabase,
  claimRedisDatabase,
  type RedisAddress,
  RespError,
  type RespValue,
  redisCommand,
} from './redis-database.js';
export {
  type ReportAttachment,
  reportAttachment,
  type SchemaVerdict,
  validateDmarcReportXml,
  validateTlsReportJson,
} from './report-schemas.js';
export {
  RSPAMD,
  rspamdInstalled,
  startTestRspamd,
  TEST_RSPAMD_ACTIONS,
  TEST_RSPAMD_SUBJECT,
  type TestRspamd,
  type TestRspamdActions,
  type TestRspamdOptions,
  type TestRspamdStat,
} from './rspamd.js';
export {
  type PeerScript,
  type PeerTransaction,
  type ScriptedPeer,
  startScriptedPeer,
} from './scripted-smtp-peer.js';
export { answers, type TestServices, testServices } from './services.js';
export { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
export { createTestCa, type IssueOptions, type TestCa, type TestCertificate } from './test-ca.js';
export { type CertificateOptions, createCertificate } from './test-certificate.js';
