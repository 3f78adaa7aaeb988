import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Ajv } from 'ajv';
import { runProgram } from './processes.js';

// The schemas reports are checked against, independently of the code that writes them: the
// DMARC aggregate XML against RFC 7489 Appendix C's XSD with libxml2's xmllint (Debian
// libxml2-utils), the TLS-RPT JSON against a JSON Schema of RFC 8460 §4.4 with ajv.

const SCHEMAS = fileURLToPath(new URL('./report-schemas/', import.meta.url));

export interface SchemaVerdict {
  readonly valid: boolean;
  /** What the validator said (empty when valid). */
  readonly errors: string;
}

/** `xmllint --noout --schema` on the report. */
export async function validateDmarcReportXml(xml: string): Promise<SchemaVerdict> {
  const dir = mkdtempSync(join(tmpdir(), 'tegami-dmarc-xml-'));
  try {
    const file = join(dir, 'report.xml');
    writeFileSync(file, xml);
    const run = await runProgram(
      'xmllint',
      ['--noout', '--nonet', '--schema', join(SCHEMAS, 'dmarc-rfc7489-appendix-c.xsd'), file],
      { cwd: dir, env: process.env, stdin: '' },
    );
    if (run.code === 0) return { valid: true, errors: '' };
    return { valid: false, errors: `${run.stdout}${run.stderr}`.trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let compiled: ReturnType<Ajv['compile']> | undefined;

/** ajv with the RFC 8460 §4.4 schema. */
export function validateTlsReportJson(report: unknown): SchemaVerdict {
  if (!compiled) {
    const schema = JSON.parse(readFileSync(join(SCHEMAS, 'tlsrpt-rfc8460.schema.json'), 'utf8'));
    compiled = new Ajv({ allErrors: true, strict: true }).compile(schema);
  }
  const valid = compiled(report) as boolean;
  return { valid, errors: valid ? '' : JSON.stringify(compiled.errors, null, 2) };
}

export interface ReportAttachment {
  /** The part's media type, lower case: application/tlsrpt+gzip, application/gzip. */
  readonly type: string;
  readonly fileName: string;
  /** The attachment decoded and gunzipped: the JSON or XML text. */
  readonly text: string;
}

/**
 * The gzip'ed report attached to a report message, read with a few regular expressions rather
 * than Tegami's own MIME parser: a base64 part whose Content-Type ends in `gzip`.
 */
export function reportAttachment(raw: Buffer): ReportAttachment {
  const text = raw.toString('latin1');
  const boundary = /boundary="([^"]+)"/i.exec(text)?.[1];
  if (!boundary) throw new Error('not a multipart message');
  for (const part of text.split(`--${boundary}`)) {
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) continue;
    const head = part.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
    const type = /^Content-Type:\s*([^;\s]+)/im.exec(head)?.[1]?.toLowerCase();
    if (!type?.endsWith('gzip')) continue;
    if (!/^Content-Transfer-Encoding:\s*base64/im.test(head)) throw new Error('the report is not base64');
    const fileName = /filename="([^"]+)"/i.exec(head)?.[1] ?? '';
    const body = Buffer.from(part.slice(split + 4).replace(/\s+/g, ''), 'base64');
    return { type, fileName, text: gunzipSync(body).toString('utf8') };
  }
  throw new Error('no gzip attachment');
}
