/**
 * Mail authentication test tooling: keys and DNS records, and an implementation independent
 * of Tegami's mailauth (Debian's dkimpy and pyspf, run by python3) to sign messages with and
 * to cross-check verdicts, on the same `TestDnsRecords` the test DNS server serves.
 *
 * ```ts
 * const key = generateDkimKey('ed25519');
 * const zone: TestDnsRecords = {
 *   'sel._domainkey.example.test': { txt: [key.dnsTxt] },
 *   'example.test': { txt: ['v=spf1 ip4:127.0.0.0/8 -all'] },
 *   '_dmarc.example.test': { txt: ['v=DMARC1; p=reject'] },
 * };
 * const dns = await startTestDnsServer({ records: zone }); // dns-resolver's upstream
 * const signed = await dkimSign(message, { domain: 'example.test', selector: 'sel', key });
 * // … send `signed` through the MX, read the stored Authentication-Results …
 * const [independent] = await dkimVerifyIndependently(signed, zone); // { result: 'pass', … }
 * const spf = await spfCheckIndependently({ ip: '127.0.0.1', sender: 'a@example.test', helo: 'c.test' }, zone);
 * ```
 *
 * Tests skip with `describe.skipIf(!independentMailAuth().available)` when python3 or the
 * Debian modules are missing. mailauth 4.13.3 and dkimpy/pyspf differ in a few verdicts
 * (mailauth-interop.test.ts, independent-spf.test.ts list them).
 */
export { type DkimKey, type DkimKeyAlgorithm, generateDkimKey, toCharacterStrings } from './dkim-keys.js';
export {
  type ArcSignOptions,
  arcSign,
  type DkimCanonicalization,
  type DkimSigningAlgorithm,
  type DkimSignOptions,
  dkimSign,
} from './independent-signing.js';
export {
  arcVerifyIndependently,
  type DkimVerifyOptions,
  dkimVerifyIndependently,
  type IndependentArcInstance,
  type IndependentArcVerdict,
  type IndependentDkimResult,
  type IndependentDkimVerdict,
  type IndependentDnsQuery,
  type IndependentSpfResult,
  type IndependentSpfVerdict,
  type SpfCheckInput,
  spfCheckIndependently,
} from './independent-verification.js';
export { type IndependentMailAuth, independentMailAuth } from './python-runner.js';
