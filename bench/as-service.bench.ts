/**
 * AS service throughput over gRPC on loopback: `attestation.AttestationService/AttestationEvaluate`
 * calls per second at several concurrencies (in-flight calls on one HTTP/2 channel, as the KBS's
 * gRPC AS client sends them), with p50/p99 latency. Each call decodes the request, verifies the
 * evidence, evaluates `default_cpu` (with its reference-value lookups) and signs an ES256 EAR.
 *
 *   pnpm exec tsx bench/as-service.bench.ts [seconds-per-level=4] [concurrencies=1,8,32]
 *
 * Cases: `sample` evidence bound to structured runtime data (the AS pipeline without hardware
 * crypto) and factory SNP evidence (P-384 report + VCEK chain through the test PKI).
 * bench/ is not a workspace package, so the packages are imported by path.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { AttestationServiceClient } from '../packages/grpc/src/index.ts';
import { canonicalJson } from '../packages/protocol/src/index.ts';
import { MemoryStore } from '../packages/storage/src/index.ts';
import { createSnpVerifier } from '../packages/verifiers/src/index.ts';
import { createTestSnpReport, testAmdPki } from '../packages/verifiers/src/testing/snpFactory.ts';
import { composeAs, parseAsConfig, startListeners } from '../services/as/src/index.ts';

type Client = InstanceType<typeof AttestationServiceClient>;
type Credentials = ConstructorParameters<typeof AttestationServiceClient>[1];
// grpc-js is a dependency of the AS package, not of the repository root.
const grpc = createRequire(new URL('../services/as/package.json', import.meta.url))('@grpc/grpc-js') as { credentials: { createInsecure(): Credentials } };

const seconds = Number(process.argv[2] ?? 4);
const levels = (process.argv[3] ?? '1,8,32').split(',').map(Number);

const runtimeData = {
  'tee-pubkey': { kty: 'EC', crv: 'P-256', alg: 'ECDH-ES+A256KW', x: 'MyEA8JflciQDoTER9UFwvkr1BaP56PzedZYNtyW8oQA', y: '1GzNpTak771xa6oK8SGe1jxnbXaQcf9890L0qxfvKjs' },
  nonce: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=',
  'additional-evidence': '',
};
const b64urlJson = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

function evaluate(client: Client, request: object): Promise<void> {
  return new Promise((resolve, reject) => {
    (client as unknown as { AttestationEvaluate: (r: object, cb: (e: Error | null) => void) => void }).AttestationEvaluate(request, (error) => (error === null ? resolve() : reject(error)));
  });
}

async function level(client: Client, request: object, concurrency: number): Promise<{ rate: number; p50: number; p99: number; calls: number }> {
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const t = performance.now();
      await evaluate(client, request);
      latencies.push(performance.now() - t);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  return { rate: latencies.length / elapsed, p50: at(0.5), p99: at(0.99), calls: latencies.length };
}

async function main(): Promise<void> {
  const pki = await testAmdPki('Milan');
  const composed = await composeAs(parseAsConfig({}), { store: new MemoryStore(), collateral: {}, verifiers: { snp: createSnpVerifier({ trustAnchors: pki.anchors }) } });
  const running = await startListeners(composed, { grpcSocket: '127.0.0.1:0' });
  const client = new AttestationServiceClient(running.grpc?.address ?? '', grpc.credentials.createInsecure());

  const sampleEvidence = { svn: '1', report_data: createHash('sha384').update(canonicalJson(runtimeData)).digest('base64') };
  const nonce = new Uint8Array(64).fill(7);
  const snp = await createTestSnpReport({ product: 'Milan', reportData: nonce });
  const cases: Array<[string, object]> = [
    ['sample (structured runtime data)', { verification_requests: [{ tee: 'sample', evidence: b64urlJson(sampleEvidence), structured_runtime_data: JSON.stringify(runtimeData) }], policy_ids: [] }],
    ['snp factory (raw runtime data)', { verification_requests: [{ tee: 'snp', evidence: b64urlJson(snp.evidence), raw_runtime_data: Buffer.from(nonce).toString('base64url') }], policy_ids: [] }],
  ];

  console.log(`AS gRPC AttestationEvaluate on loopback, ${seconds} s per level, node ${process.version}`);
  for (const [name, request] of cases) {
    await evaluate(client, request);
    for (let i = 0; i < 50; i += 1) await evaluate(client, request);
    for (const concurrency of levels) {
      const result = await level(client, request, concurrency);
      console.log(
        `${name.padEnd(34)} concurrency ${String(concurrency).padStart(3)}: ${result.rate.toFixed(0).padStart(6)} calls/s  p50 ${result.p50.toFixed(2)} ms  p99 ${result.p99.toFixed(2)} ms  (${result.calls} calls)`,
      );
    }
  }
  client.close();
  await running.close();
}

await main();
