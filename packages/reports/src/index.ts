// @tegami/reports: TLS-RPT (RFC 8460) and DMARC aggregate reports (RFC 7489 §7.2). The
// formats (JSON, XML, the report mail), the DNS records that ask for them, and one run of the
// daily reports, which the delivery-worker schedules and `tegami report send` runs by hand.

export * from './dmarc-aggregate-xml.js';
export * from './dmarc-record.js';
export * from './https-report.js';
export * from './report-builders.js';
export * from './report-day.js';
export * from './report-dns.js';
export * from './report-mail.js';
export * from './report-run.js';
export * from './report-settings.js';
export * from './report-uri.js';
export * from './tls-report-json.js';
export * from './tlsrpt-record.js';
