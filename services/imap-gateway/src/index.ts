export { type ImapGateway, type ImapGatewayDeps, startImapGateway } from './imap-gateway.js';
export { imapSettings } from './settings.js';
