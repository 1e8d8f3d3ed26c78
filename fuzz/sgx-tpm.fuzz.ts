/**
 * Long-running fuzzer for the SGX quote path (DCAP quote parser, `sgx` verifier) and the TPM
 * parsers (TPMT_SIGNATURE, TPMS_ATTEST, evidence JSON) and `tpm` verifier.
 *
 *   tsx fuzz/sgx-tpm.fuzz.ts [--seconds 60] [--seed 1] [--target <substring>]
 *
 * Each case must resolve or throw a VerificationError; anything else (or a case slower than
 * 2 s, i.e. a hang) is printed with the target and seed that reproduce it, and the exit code is 1.
 */
import { runFuzzCli } from '../packages/verifiers/src/testing/fuzzRunner.ts';
import { sgxTpmFuzzTargets } from '../packages/verifiers/src/testing/sgxTpmFuzz.ts';

await runFuzzCli(await sgxTpmFuzzTargets());
