export { type InboundCheckConfig, inboundChecks } from './inbound-setup.js';
export { httpUrl, inboundCheckSettings, mtaStsHostOf, smtpListeners, smtpSettings } from './settings.js';
export {
  type SmtpIngress,
  type SmtpIngressDeps,
  type SmtpListenerSpec,
  startSmtpIngress,
} from './smtp-ingress.js';
export type { SpamScanInput, SpamScanner, SpamVerdict } from './spam-scan.js';
