export { type ImapGateway, type ImapGatewayDeps, startImapGateway } from './imap-gateway.js';
export { imapSettings } from './settings.js';
export { LEARN_TIMEOUT_MS, learningOf, rspamdLearningClient } from './spam-learning.js';
