export { type DnsResolver, type DnsResolverDeps, startDnsResolver } from './dns-resolver.js';
export { dnsResolverSettings, dnsUpstreams, parseUpstream } from './settings.js';
export type { Upstream } from './upstream.js';
