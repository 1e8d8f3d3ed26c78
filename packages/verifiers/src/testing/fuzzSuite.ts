import { describe, expect, test } from 'vitest';
import { fuzzOnce, type FuzzTarget } from './snpFuzz.ts';

/**
 * The vitest suite every `*Fuzz.test.ts` runs over its targets: `cases` deterministic seeds per
 * target, each of which must resolve or throw a VerificationError (see `fuzzOnce`); the escaped
 * seeds are listed so a failure names what reproduces it. `fuzz/*.fuzz.ts` runs the same targets
 * for longer (fuzzRunner.ts).
 */
export function describeFuzzTargets(targets: readonly FuzzTarget[], cases = 200): void {
  describe.each([...targets])('fuzz: $name', (target) => {
    test(`${cases} deterministic cases stay typed`, async () => {
      const escaped: string[] = [];
      for (let seed = 1; seed <= cases; seed += 1) {
        const error = await fuzzOnce(target, seed);
        if (error !== undefined) escaped.push(`seed ${seed}: ${String(error)}`);
      }
      expect(escaped).toEqual([]);
    });
  });
}
