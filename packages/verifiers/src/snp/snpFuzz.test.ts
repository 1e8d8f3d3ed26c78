// Invariant: hostile input — random bytes, truncated/oversized reports, random JSON shapes and
// single mutations of valid evidence — only ever yields a result or a typed VerificationError,
// never a RangeError/TypeError or a hang. Deterministic seeds; `fuzz/snp.fuzz.ts` runs longer.
import { snpFuzzTargets } from '../testing/snpFuzz.ts';
import { describeFuzzTargets } from '../testing/fuzzSuite.ts';

describeFuzzTargets(await snpFuzzTargets());
