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
