/**
 * Long-running fuzzer for the TDX / DCAP / CCEL / Azure TDX vTPM parsers and verifiers.
 *
 *   pnpm exec tsx fuzz/tdx.fuzz.ts [--seconds 60] [--seed 1] [--target <substring>]
 *
 * Inputs are factory evidence (test PKI) mutated by bit flips, byte stores, truncation,
 * extension, oversized length fields and pure random bytes. Each case must resolve or throw a
 * VerificationError; anything else (or a case slower than 2 s, i.e. a hang) is printed with the
 * target and seed that reproduce it, and the exit code is 1.
 */
import { parseArgs } from 'node:util';
import { parseDcapQuote } from '../packages/verifiers/src/dcap/parseQuote.ts';
import { parseCcel } from '../packages/verifiers/src/eventlog/parseCcel.ts';
import { createTdxVerifier } from '../packages/verifiers/src/tdx/tdxVerifier.ts';
import { createAzTdxVtpmVerifier } from '../packages/verifiers/src/az-tdx-vtpm/azTdxVtpmVerifier.ts';
import { staticIntelCollateral } from '../packages/verifiers/src/collateral/intelStatic.ts';
import { buildTestCcel, createTdxTestPlatform, TDX_FACTORY_NOW, tdxEvidence } from '../packages/verifiers/src/testing/tdxFactory.ts';
import { createTestAzTdxVtpmEvidence } from '../packages/verifiers/src/testing/tdxAzureFactory.ts';
import { VerificationError } from '../packages/verifiers/src/verificationError.ts';
import type { IntelCollateral, Json } from '../packages/verifiers/src/verifier.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, seed: { type: 'string', default: '1' }, target: { type: 'string' } } });

function rng(seed: number): (n: number) => number {
  let s = (seed * 2654435761) >>> 0 || 1;
  return (n) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
}

function mutate(input: Uint8Array, seed: number): Uint8Array {
  const r = rng(seed);
  switch (r(6)) {
    case 0: {
      const out = Uint8Array.from(input);
      for (let k = 0; k < 1 + r(8); k++) out[r(out.length)] = (out[r(out.length)] as number) ^ (1 << r(8));
      return out;
    }
    case 1:
      return input.subarray(0, r(input.length + 1));
    case 2:
      return Uint8Array.from([...input, ...Array.from({ length: r(4096) }, () => r(256))]);
    case 3: {
      const out = Uint8Array.from(input);
      const at = r(Math.max(1, out.length - 4));
      out.set([0xff, 0xff, 0xff, r(2) === 0 ? 0x7f : 0xff], at);
      return out;
    }
    case 4:
      return Uint8Array.from({ length: r(8192) }, () => r(256));
    default: {
      const out = Uint8Array.from(input);
      for (let k = 0; k < 1 + r(32); k++) out[r(out.length)] = r(256);
      return out;
    }
  }
}

interface Target {
  readonly name: string;
  run(seed: number): Promise<unknown>;
}

const platform = await createTdxTestPlatform();
const collateral: IntelCollateral = await platform.collateral();
const source = staticIntelCollateral([collateral]);
const { ccel, rtmrs } = buildTestCcel([{ index: 1, data: Buffer.from('fw') }, { index: 4, type: 6, data: Buffer.from('LEAA\x05\0\0\0a b c', 'latin1') }]);
const quoteV4 = platform.quote({ rtmrs });
const quoteV5 = platform.quote({ version: 5, bodyType: 3 });
const tdx = createTdxVerifier({ trustAnchors: platform.trustAnchors });
const az = createAzTdxVtpmVerifier({ trustAnchors: platform.trustAnchors });
const nonce = Buffer.alloc(32, 3);
const azEvidence = createTestAzTdxVtpmEvidence({ platform, nonce, version: 0 }) as { hcl_report: number[]; td_quote: number[]; tpm_quote: Json };
const none = { reportData: undefined, initDataDigest: undefined };
const context = { now: () => TDX_FACTORY_NOW, collateral: source };

const targets: Target[] = [
  { name: 'parseDcapQuote(v4)', run: async (seed) => parseDcapQuote(mutate(quoteV4, seed)) },
  { name: 'parseDcapQuote(v5)', run: async (seed) => parseDcapQuote(mutate(quoteV5, seed)) },
  { name: 'parseCcel', run: async (seed) => parseCcel(mutate(ccel, seed)) },
  { name: 'tdx.evaluate(quote)', run: (seed) => tdx.evaluate(tdxEvidence(mutate(quoteV4, seed), ccel), none, context) },
  { name: 'tdx.evaluate(ccel)', run: (seed) => tdx.evaluate(tdxEvidence(quoteV4, mutate(ccel, seed)), none, context) },
  {
    name: 'tdx.evaluate(collateral)',
    run: (seed) => {
      const r = rng(seed);
      const field = (['tcbInfo', 'qeIdentity', 'rootCaCrl', 'pckCrl'] as const)[r(4)] as 'tcbInfo' | 'qeIdentity' | 'rootCaCrl' | 'pckCrl';
      const value = collateral[field];
      const mutated = typeof value === 'string' ? Buffer.from(mutate(Buffer.from(value, 'latin1'), seed)).toString('latin1') : mutate(value, seed);
      const tampered = { ...collateral, [field]: mutated } as IntelCollateral;
      return tdx.evaluate(tdxEvidence(quoteV4), none, { now: () => TDX_FACTORY_NOW, collateral: { getIntelCollateral: async () => tampered } });
    },
  },
  {
    name: 'az-tdx-vtpm.evaluate',
    run: (seed) => {
      const r = rng(seed);
      const evidence = r(2) === 0
        ? { ...azEvidence, hcl_report: Array.from(mutate(Uint8Array.from(azEvidence.hcl_report), seed)) }
        : { ...azEvidence, td_quote: Array.from(mutate(Uint8Array.from(azEvidence.td_quote), seed)) };
      return az.evaluate(evidence as unknown as Json, { reportData: nonce, initDataDigest: undefined }, context);
    },
  },
];

const deadline = Date.now() + Number(values.seconds) * 1000;
const selected = targets.filter((t) => values.target === undefined || t.name.includes(values.target));
const counts = new Map<string, number>();
let failures = 0;
let seed = Number(values.seed);
while (Date.now() < deadline) {
  for (const target of selected) {
    const started = Date.now();
    let escaped: unknown;
    try {
      await target.run(seed);
    } catch (error) {
      if (!(error instanceof VerificationError)) escaped = error;
    }
    const elapsed = Date.now() - started;
    if (escaped !== undefined || elapsed > 2000) {
      failures += 1;
      console.log(`FAIL ${target.name} seed=${seed} ${elapsed > 2000 ? `slow ${elapsed} ms` : String((escaped as Error)?.stack ?? escaped)}`);
    }
    counts.set(target.name, (counts.get(target.name) ?? 0) + 1);
  }
  seed += 1;
}
for (const [name, n] of counts) console.log(`${name.padEnd(30)} ${n} cases`);
console.log(failures === 0 ? 'no escaped exceptions or hangs' : `${failures} failing cases`);
process.exitCode = failures === 0 ? 0 : 1;
