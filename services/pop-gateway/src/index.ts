export { type PopGateway, type PopGatewayDeps, startPopGateway } from './pop-gateway.js';
export { popSettings } from './settings.js';
