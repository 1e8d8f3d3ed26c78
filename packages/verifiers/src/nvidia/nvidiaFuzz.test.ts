// Invariant: hostile input (random bytes, truncated or extended SPDM reports, single mutations of
// valid evidence JSON and of the PEM chain) only ever yields a result or a typed
// VerificationError, never a RangeError/TypeError or a hang. `fuzz/nvidia.fuzz.ts` runs longer.
import { describe, expect, test } from 'vitest';
import { nvidiaFuzzTargets } from '../testing/nvidiaFuzz.ts';
import { fuzzOnce } from '../testing/snpFuzz.ts';

const targets = await nvidiaFuzzTargets();

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
