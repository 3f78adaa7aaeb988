export { describeMessage } from '@tegami/protocol';
export {
  type DeliveryWorkerDeps,
  type DeliveryWorkerHandle,
  startDeliveryWorker,
} from './delivery-worker.js';
export { settleDkimKeys } from './dkim-keyring.js';
export { buildDsn, type DsnInput, type DsnRecipient } from './dsn.js';
export { type DeliverySettings, deliverySettings, toDeliverySettings } from './settings.js';
export type {
  HostTlsPolicy,
  PeerTls,
  TlsCheck,
  TlsOutcome,
  TlsRequirement,
  TlsResultType,
} from './tls-policy.js';
