import { parseArgs } from 'node:util';
import { fuzzOnce, type FuzzTarget } from './snpFuzz.ts';

/**
 * The command-line loop of the `fuzz/*.fuzz.ts` scripts over `FuzzTarget`s:
 * `[--seconds 60] [--seed 1] [--target <substring>]`. Each case must resolve or throw a
 * VerificationError; anything else (or a case slower than 2 s, i.e. a hang) is printed with the
 * target and seed that reproduce it, and the exit code is 1.
 */
export async function runFuzzCli(allTargets: readonly FuzzTarget[], args: readonly string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({ args: [...args], options: { seconds: { type: 'string', default: '60' }, seed: { type: 'string', default: '1' }, target: { type: 'string' } } });
  const deadline = Date.now() + Number(values.seconds) * 1000;
  const targets = allTargets.filter((t) => values.target === undefined || t.name.includes(values.target));
  const counts = new Map<string, number>();
  let failures = 0;
  let seed = Number(values.seed);
  while (Date.now() < deadline) {
    for (const target of targets) {
      const started = Date.now();
      const error = await fuzzOnce(target, seed);
      const elapsed = Date.now() - started;
      if (error !== undefined || elapsed > 2000) {
        failures += 1;
        console.log(`FAIL ${target.name} seed=${seed} ${elapsed > 2000 ? `slow ${elapsed} ms` : String(error)}`);
      }
      counts.set(target.name, (counts.get(target.name) ?? 0) + 1);
    }
    seed += 1;
  }
  for (const [name, n] of counts) console.log(`${name.padEnd(45)} ${n} cases`);
  console.log(failures === 0 ? 'no escaped exceptions or hangs' : `${failures} failing cases`);
  process.exitCode = failures === 0 ? 0 : 1;
}
