// Invariant: hostile input — random bytes, truncated/oversized reports, random JSON shapes and
// single mutations of valid evidence — only ever yields a result or a typed VerificationError,
// never a RangeError/TypeError or a hang. Deterministic seeds; `fuzz/snp.fuzz.ts` runs longer.
import { describe, expect, test } from 'vitest';
import { fuzzOnce, snpFuzzTargets } from '../testing/snpFuzz.ts';

const targets = await snpFuzzTargets();

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
