/**
 * RVPS throughput over gRPC on loopback: `QueryReferenceValue` calls per second at several
 * concurrencies (in-flight calls on one HTTP/2 channel, as the AS's remote RVPS client sends
 * them) with p50/p99 latency, against SQLite (the default) and in-memory storage; plus the
 * extractor cost of registering a 200-measurement SWID RIM and a 200-claim CoRIM.
 *
 *   pnpm exec tsx bench/rvps.bench.ts [seconds-per-level=3] [concurrencies=1,16,64]
 *
 * bench/ is not a workspace package, so the packages are imported by path.
 */
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { corimExtractor, swidExtractor } from '../packages/rvps/src/index.ts';
import { ReferenceValueProviderServiceClient } from '../packages/grpc/src/index.ts';
import { parseStorageBackendConfig } from '../packages/storage/src/index.ts';
import { bindGrpcServer, composeRvps } from '../services/rvps/src/index.ts';

type Client = InstanceType<typeof ReferenceValueProviderServiceClient>;
type Credentials = ConstructorParameters<typeof ReferenceValueProviderServiceClient>[1];
const requireFromRvps = createRequire(new URL('../services/rvps/package.json', import.meta.url));
const grpc = requireFromRvps('@grpc/grpc-js') as { credentials: { createInsecure(): Credentials } };
const { Encoder, Tag } = requireFromRvps('cbor-x') as {
  Encoder: new (options: { mapsAsObjects: boolean; useRecords: boolean }) => { encode(value: unknown): Uint8Array };
  Tag: new (value: unknown, tag: number) => object;
};

const seconds = Number(process.argv[2] ?? 3);
const levels = (process.argv[3] ?? '1,16,64').split(',').map(Number);
const IDS = 64;

function query(client: Client, id: string): Promise<void> {
  return new Promise((resolve, reject) => {
    (client as unknown as Record<string, (r: unknown, cb: (e: Error | null) => void) => void>)['QueryReferenceValue']?.call(client, { reference_value_id: id }, (error) =>
      error === null ? resolve() : reject(error),
    );
  });
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function runLevel(client: Client, concurrency: number): Promise<string> {
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const started = performance.now();
      await query(client, `bench/value-${next++ % IDS}`);
      latencies.push(performance.now() - started);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return `c=${String(concurrency).padStart(3)}  ${(latencies.length / elapsed).toFixed(0).padStart(7)} queries/s  p50 ${percentile(latencies, 50).toFixed(2)} ms  p99 ${percentile(latencies, 99).toFixed(2)} ms`;
}

async function benchStorage(name: string, storage: ReturnType<typeof parseStorageBackendConfig>): Promise<void> {
  const rvps = await composeRvps({ storage });
  const values = Object.fromEntries(Array.from({ length: IDS }, (_, i) => [`bench/value-${i}`, [`${i}`.repeat(96).slice(0, 96)]]));
  await rvps.operations.register(JSON.stringify({ type: 'sample', payload: Buffer.from(JSON.stringify(values)).toString('base64') }), undefined);
  const port = await bindGrpcServer(rvps.grpcServer, '127.0.0.1', 0);
  const client = new ReferenceValueProviderServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  console.log(`QueryReferenceValue, ${name}:`);
  for (const level of levels) console.log(`  ${await runLevel(client, level)}`);
  client.close();
  await rvps.close();
}

function timeExtractor(name: string, extract: () => unknown): void {
  const rounds = 50;
  extract();
  const started = performance.now();
  for (let i = 0; i < rounds; i++) extract();
  console.log(`  ${name}: ${((performance.now() - started) / rounds).toFixed(2)} ms per registration`);
}

const hash = 'ab'.repeat(48);
const rim = `<SoftwareIdentity xmlns="http://standards.iso.org/iso/19770/-2/2015/schema.xsd" xmlns:r="https://trustedcomputinggroup.org/resource/tcg-reference-integrity-manifest-rim-information-model/" xmlns:h="http://www.w3.org/2001/04/xmlenc#sha384"><Meta edition="GPU" r:PlatformManufacturerStr="Bench Vendor"/><Payload>${Array.from({ length: 200 }, (_, i) => `<Resource type="Measurement" index="${i}" h:Hash0="${hash}" h:Hash1="${hash}"/>`).join('')}</Payload></SoftwareIdentity>`;
const encoder = new Encoder({ mapsAsObjects: false, useRecords: false });
const claims = Array.from({ length: 200 }, (_, i) => new Map<number, unknown>([[0, `claim-${i}`], [1, new Map([[2, [[7, Buffer.alloc(48, i)]]]])]]));
const comid = encoder.encode(new Map<number, unknown>([[1, new Map([[0, 'c']])], [4, new Map([[0, [[new Map([[0, new Map([[1, 'V'], [2, 'M']])]]), claims]]]])]]));
const corim = encoder.encode(new Tag(new Map<number, unknown>([[0, 'id'], [1, [new Tag(Buffer.from(comid), 506)]]]), 501));
const context = { now: new Date() };

console.log(`extractors (${rim.length} B RIM, ${corim.length} B CoRIM):`);
timeExtractor('swid, 200 measurements', () => swidExtractor.extract(Buffer.from(rim).toString('base64'), context));
timeExtractor('corim, 200 claims', () => corimExtractor.extract(Buffer.from(corim).toString('base64'), context));
await benchStorage('SQLite (default)', parseStorageBackendConfig({ storage_type: 'Sqlite', backends: { sqlite: { path: join(mkdtempSync(join(tmpdir(), 'rvps-bench-')), 'rvps.sqlite') } } }));
await benchStorage('Memory', parseStorageBackendConfig({ storage_type: 'Memory' }));
