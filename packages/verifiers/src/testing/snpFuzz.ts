import { parseAzSnpVtpmEvidence } from '../az-snp-vtpm/azSnpVtpmEvidence.ts';
import { createAzSnpVtpmVerifier } from '../az-snp-vtpm/azSnpVtpmVerifier.ts';
import { parseSnpCertTable } from '../snp/certTable.ts';
import { parseSnpReport } from '../snp/snpReport.ts';
import { createSnpVerifier } from '../snp/snpVerifier.ts';
import { parseAmdCertificate } from '../snp/vekCertificate.ts';
import { parseHclReport, parseHclRuntimeClaims } from '../tpm/hclReport.ts';
import { parseTpmsAttest } from '../tpm/tpmsAttest.ts';
import type { Json } from '../verifier.ts';
import { VerificationError } from '../verificationError.ts';
import { createTestAzSnpVtpmEvidence } from './azureFactory.ts';
import { createTestSnpReport, testAmdTrustAnchors } from './snpFactory.ts';

/**
 * Fuzz targets for the SNP / Azure vTPM parsers and verifiers, shared by the unit tests (a few
 * hundred deterministic cases) and `fuzz/snp.fuzz.ts` (long runs). A target passes a case when it
 * resolves or throws a `VerificationError`; anything else (RangeError, TypeError, a hang) is a bug.
 */

export type Rng = () => number;

/** Small deterministic PRNG (mulberry32) so failures can be replayed from their seed. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (r: Rng, n: number): number => Math.floor(r() * n);

export function randomBytes(r: Rng, length: number): Uint8Array {
  return Uint8Array.from({ length }, () => int(r, 256));
}

export function randomJson(r: Rng, depth = 3): Json {
  const pick = int(r, depth > 0 ? 9 : 6);
  switch (pick) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return [0, -1, 1.5, 255, 256, 2 ** 32, 2 ** 53 + 2, Number.MAX_VALUE][int(r, 8)] as number;
    case 3:
      return int(r, 300);
    case 4:
      return ['', 'ARK', 'VCEK', 'zz', '00'.repeat(int(r, 40)), '-----BEGIN CERTIFICATE-----', 'HCLA'][int(r, 7)] as string;
    case 5:
      return Array.from({ length: int(r, 80) }, () => int(r, 256));
    case 6:
      return Array.from({ length: int(r, 4) }, () => randomJson(r, depth - 1));
    default: {
      const keys = ['version', 'attestation_report', 'cert_chain', 'cert_type', 'data', 'tpm_quote', 'hcl_report', 'vcek', 'quote', 'report', 'signature', 'message', 'pcrs', 'r', 's'];
      const o: Record<string, Json> = {};
      for (let i = int(r, 5); i > 0; i -= 1) o[keys[int(r, keys.length)] as string] = randomJson(r, depth - 1);
      return o;
    }
  }
}

/** A deep copy of `value` with one random change somewhere (a value replaced, a key dropped, an array resized). */
export function mutateJson(r: Rng, value: Json): Json {
  const copy = structuredClone(value);
  const paths: Array<{ parent: Json[] | Record<string, Json>; key: string | number }> = [];
  const walk = (node: Json): void => {
    if (Array.isArray(node)) {
      if (node.length > 0) paths.push({ parent: node, key: int(r, node.length) });
      for (const child of node.slice(0, 3)) walk(child);
    } else if (node !== null && typeof node === 'object') {
      for (const key of Object.keys(node)) {
        paths.push({ parent: node, key });
        walk(node[key] as Json);
      }
    }
  };
  walk(copy);
  const target = paths[int(r, paths.length)];
  if (target === undefined) return randomJson(r);
  const { parent, key } = target;
  const action = int(r, 4);
  if (Array.isArray(parent)) {
    const i = key as number;
    if (action === 0) parent.splice(i, 1);
    else if (action === 1) parent.push(int(r, 256));
    else parent[i] = randomJson(r, 1);
  } else {
    if (action === 0) delete parent[key as string];
    else parent[key as string] = randomJson(r, 2);
  }
  return copy;
}

export function mutateBytes(r: Rng, bytes: Uint8Array): Uint8Array {
  const action = int(r, 4);
  if (action === 0) return bytes.slice(0, int(r, bytes.byteLength));
  if (action === 1) return Uint8Array.from([...bytes, ...randomBytes(r, 1 + int(r, 64))]);
  const out = bytes.slice();
  for (let i = 1 + int(r, 8); i > 0; i -= 1) out[int(r, out.byteLength)] = int(r, 256);
  return out;
}

export interface FuzzTarget {
  readonly name: string;
  run(r: Rng): Promise<unknown>;
}

/** Builds the targets (valid seeds from the test factory, verifiers over the test PKI). */
export async function snpFuzzTargets(): Promise<FuzzTarget[]> {
  const anchors = await testAmdTrustAnchors(['Milan', 'Turin']);
  const snp = createSnpVerifier({ trustAnchors: anchors });
  const az = createAzSnpVtpmVerifier({ trustAnchors: anchors });
  const seedReport = await createTestSnpReport({ version: 5 });
  const turinReport = await createTestSnpReport({ product: 'Turin', version: 3 });
  const nonce = new Uint8Array(48).fill(7);
  const azSeeds = await Promise.all(([0, 1, 2] as const).map((version) => createTestAzSnpVtpmEvidence({ version, reportData: nonce })));
  const context = { now: () => new Date('2030-01-01T00:00:00Z'), collateral: { getVcek: () => Promise.resolve(seedReport.vek.der) } };
  const expected = { reportData: undefined, initDataDigest: undefined };
  const sync = (fn: () => unknown) => (): Promise<unknown> => {
    try {
      return Promise.resolve(fn());
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  };
  return [
    { name: 'parseSnpReport(random)', run: (r) => sync(() => parseSnpReport(randomBytes(r, r() < 0.5 ? 1184 : int(r, 2000))))() },
    { name: 'parseSnpReport(mutated)', run: (r) => sync(() => parseSnpReport(mutateBytes(r, seedReport.bytes)))() },
    { name: 'snp.evaluate(random json)', run: (r) => snp.evaluate(randomJson(r, 4), expected, context) },
    { name: 'snp.evaluate(mutated evidence)', run: (r) => snp.evaluate(mutateJson(r, r() < 0.5 ? seedReport.evidence : turinReport.evidence), expected, context) },
    { name: 'snp.evaluate(mutated evidence, no chain)', run: (r) => snp.evaluate(mutateJson(r, seedReport.evidenceWithoutChain), expected, context) },
    { name: 'parseAmdCertificate(mutated VCEK)', run: (r) => sync(() => parseAmdCertificate(mutateBytes(r, seedReport.vek.der), 'vek'))() },
    { name: 'parseSnpCertTable(random)', run: (r) => sync(() => parseSnpCertTable(randomBytes(r, int(r, 200))))() },
    {
      name: 'az.evaluate(mutated evidence)',
      run: (r) => az.evaluate(mutateJson(r, azSeeds[int(r, 3)]?.evidence ?? null), { reportData: nonce, initDataDigest: undefined }, context),
    },
    {
      name: 'az.evaluate(mutated hcl bytes)',
      run: (r) => {
        const seed = azSeeds[1]?.evidence as Record<string, Json>;
        const hcl = mutateBytes(r, azSeeds[1]?.hclReport ?? new Uint8Array());
        return az.evaluate({ ...seed, hcl_report: Buffer.from(hcl).toString('base64url') }, { reportData: nonce, initDataDigest: new Uint8Array(32) }, context);
      },
    },
    { name: 'az.evaluate(random json)', run: (r) => az.evaluate(randomJson(r, 4), { reportData: nonce, initDataDigest: undefined }, context) },
    { name: 'parseAzSnpVtpmEvidence(random json)', run: (r) => sync(() => parseAzSnpVtpmEvidence(randomJson(r, 4)))() },
    { name: 'parseHclReport(mutated)', run: (r) => sync(() => parseHclRuntimeClaims(parseHclReport(mutateBytes(r, azSeeds[2]?.hclReport ?? new Uint8Array())).varData))() },
    { name: 'parseTpmsAttest(mutated)', run: (r) => sync(() => parseTpmsAttest(mutateBytes(r, azSeeds[0]?.quote.message ?? new Uint8Array())))() },
  ];
}

/** Runs one case; returns undefined when the target behaved (resolved or typed error), else the offending error. */
export async function fuzzOnce(target: FuzzTarget, seed: number): Promise<unknown> {
  try {
    await target.run(rng(seed));
    return undefined;
  } catch (error) {
    return error instanceof VerificationError ? undefined : error;
  }
}
