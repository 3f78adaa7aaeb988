export {
  type BusLogger,
  type ConsumeJobsOptions,
  type JobConsumer,
  type JobControl,
  type JobHandler,
  type MailBus,
  type PublishJobOptions,
  type Subscription,
  stderrLogger,
} from './bus.js';
export {
  type Decoded,
  type DeliveryJob,
  decodeDeliveryJob,
  decodeMailboxChanged,
  encodeDeliveryJob,
  encodeMailboxChanged,
  InvalidEventError,
  type MailboxChanged,
  type MailboxChangeKind,
  validateDeliveryJob,
  validateMailboxChanged,
} from './events.js';
export { createMemoryBus, createMemoryHub, type MemoryBusOptions, type MemoryHub } from './memory-bus.js';
export { connectNatsBus, type NatsBusOptions } from './nats-bus.js';
export {
  assertAccountId,
  type BusNames,
  busNames,
  DEFAULT_PREFIX,
  InvalidNameError,
  isValidAccountId,
  isValidPrefix,
} from './subjects.js';
