export { smtpListeners, smtpSettings } from './settings.js';
export {
  type SmtpIngress,
  type SmtpIngressDeps,
  type SmtpListenerSpec,
  startSmtpIngress,
} from './smtp-ingress.js';
