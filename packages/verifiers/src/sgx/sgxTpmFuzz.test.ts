// Invariant: hostile input to the SGX quote path and the TPM parsers and verifier (random bytes,
// random JSON, single mutations of valid factory evidence) only ever yields a result or a typed
// VerificationError, never a RangeError/TypeError or a hang. Deterministic seeds;
// `fuzz/sgx-tpm.fuzz.ts` runs longer.
import { describe, expect, test } from 'vitest';
import { fuzzOnce } from '../testing/snpFuzz.ts';
import { sgxTpmFuzzTargets } from '../testing/sgxTpmFuzz.ts';

const targets = await sgxTpmFuzzTargets();

describe.each(targets)('fuzz: $name', (target) => {
  test('200 deterministic cases stay typed', async () => {
    const escaped: string[] = [];
    for (let seed = 1; seed <= 200; seed += 1) {
      const error = await fuzzOnce(target, seed);
      if (error !== undefined) escaped.push(`seed ${seed}: ${String(error)}`);
    }
    expect(escaped).toEqual([]);
  });
});
