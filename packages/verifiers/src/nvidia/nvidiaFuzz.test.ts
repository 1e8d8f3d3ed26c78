// Invariant: hostile input (random bytes, truncated or extended SPDM reports, single mutations of
// valid evidence JSON and of the PEM chain) only ever yields a result or a typed
// VerificationError, never a RangeError/TypeError or a hang. `fuzz/nvidia.fuzz.ts` runs longer.
import { nvidiaFuzzTargets } from '../testing/nvidiaFuzz.ts';
import { describeFuzzTargets } from '../testing/fuzzSuite.ts';

describeFuzzTargets(await nvidiaFuzzTargets());
