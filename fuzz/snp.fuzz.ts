/**
 * Long-running fuzzer for the SNP / Azure SNP vTPM parsers and verifiers.
 *
 *   tsx fuzz/snp.fuzz.ts [--seconds 60] [--seed 1] [--target <substring>]
 *
 * Each case must resolve or throw a VerificationError; anything else (or a case slower than
 * 2 s, i.e. a hang) is printed with the target and seed that reproduce it, and the exit code is 1.
 */
import { runFuzzCli } from '../packages/verifiers/src/testing/fuzzRunner.ts';
import { snpFuzzTargets } from '../packages/verifiers/src/testing/snpFuzz.ts';

await runFuzzCli(await snpFuzzTargets());
