// Invariant: hostile input to the SGX quote path and the TPM parsers and verifier (random bytes,
// random JSON, single mutations of valid factory evidence) only ever yields a result or a typed
// VerificationError, never a RangeError/TypeError or a hang. Deterministic seeds;
// `fuzz/sgx-tpm.fuzz.ts` runs longer.
import { sgxTpmFuzzTargets } from '../testing/sgxTpmFuzz.ts';
import { describeFuzzTargets } from '../testing/fuzzSuite.ts';

describeFuzzTargets(await sgxTpmFuzzTargets());
