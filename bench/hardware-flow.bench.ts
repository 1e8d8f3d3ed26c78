/**
 * Full RCAR flows through the KBS with hardware evidence from the test-evidence factory
 * (snp, tdx, az-snp-vtpm, az-tdx-vtpm): auth → attest (verify signatures, certificate chains,
 * TCB/collateral; appraise with default_cpu; sign the EAR) → encrypted resource GET, N concurrent
 * guests, against one KBS process that trusts the factory's anchors and collateral exactly like
 * the hardware e2e KBS (`verifierConfigToml(files, { trustAnchors: true })`).
 *
 *   pnpm bench:hardware [--seconds 5] [--guests 32] [--tees snp,tdx,az-snp-vtpm,az-tdx-vtpm] [--key P-256] [--workers N] [--compiled]
 *
 * The factory lives in this process (its AMD test PKI is per process), so the client signs one
 * evidence per flow; that time is excluded from the latency and the client's CPU is not the
 * KBS's. The reference values default_cpu asks for are registered from the first token's claims
 * (the timed appraisals are `affirming`), and a 2 s warm-up fills the certificate and collateral
 * caches first. The floor adds each TEE's evidence signature checks to the KBS's own crypto
 * (bench/lib/kbsHarness.ts `floorOperation`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { b64std, primaryRuntimeData, runtimeDataDigest } from '../packages/protocol/src/index.ts';
import { claimAt, createEvidenceFactory, DEFAULT_CPU_REFERENCE_VALUES, HARDWARE_TEES, isHardwareTee, verifierConfigToml, type HardwareTee } from '../tests/e2e/src/harness/evidenceFactory.ts';
import {
  floorOperation,
  generateTeeKey,
  HttpClient,
  isTeeKeyKind,
  loadAverages,
  measureFloorMs,
  runFlowPhase,
  setUpResource,
  startKbs,
  TABLE_HEADER,
  tableRow,
  type EvidenceCheck,
} from './lib/kbsHarness.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    guests: { type: 'string', default: '32' },
    tees: { type: 'string', default: HARDWARE_TEES.join(',') },
    key: { type: 'string', default: 'P-256' },
    workers: { type: 'string' },
    // The KBS from its compiled output (dist, plain node) as production runs it; build first.
    compiled: { type: 'boolean', default: false },
  },
  strict: true,
});
const seconds = Math.min(Math.max(Number(values.seconds), 1), 120);
const guestCounts = values.guests.split(',').map((value) => Math.min(Math.max(Number(value), 1), 1024));
const tees = values.tees.split(',').filter(isHardwareTee);
const keyKind = values.key;
if (!isTeeKeyKind(keyKind)) throw new Error(`--key: ${keyKind} is not a TEE key kind`);
const workers = values.workers === undefined ? undefined : Math.min(Math.max(Number(values.workers), 1), 16);
const SECRET = 'bench-secret';

/** Per-evidence signature checks each TEE adds to the floor (see floorOperation). */
const EVIDENCE_CHECKS: Readonly<Record<HardwareTee, readonly EvidenceCheck[]>> = {
  snp: ['snp-report'],
  tdx: ['tdx-quote'],
  'az-snp-vtpm': ['snp-report', 'vtpm-quote'],
  'az-tdx-vtpm': ['tdx-quote', 'vtpm-quote'],
};

const anchorsDir = mkdtempSync(join(tmpdir(), 'hw-flow-bench-'));
const factory = await createEvidenceFactory();
const files = await factory.writeAnchors(anchorsDir);
const kbs = await startKbs({
  workers,
  compiled: values.compiled === true,
  httpServerLines: ['auth_rate_limit_per_ip = 0', 'max_sessions_per_ip = 0'],
  appendToml: verifierConfigToml(files, { trustAnchors: true }),
  profileDir: process.env['KBS_BENCH_PROFILE_DIR'],
});
const client = new HttpClient(kbs.port, Math.max(...guestCounts));
const admin = { authorization: `Bearer ${kbs.adminToken}` };

/** One attested token's cpu0 claims for `tee`, to register the reference values default_cpu asks for. */
async function registerReferenceValues(tee: HardwareTee): Promise<void> {
  const { teePubKey } = generateTeeKey(keyKind as 'P-256');
  const challenge = await client.call('POST', '/kbs/v0/auth', JSON.stringify({ version: '0.4.0', tee, 'extra-params': '' }));
  const nonce = (JSON.parse(challenge.body) as { nonce: string }).nonce;
  const evidence = await factory.evidence(tee, runtimeDataDigest(primaryRuntimeData(nonce, teePubKey, ''), 'sha384'));
  const attestation = { 'init-data': null, 'runtime-data': { nonce, 'tee-pubkey': teePubKey }, 'tee-evidence': { primary_evidence: evidence, additional_evidence: '' } };
  const attested = await client.call('POST', '/kbs/v0/attest', JSON.stringify(attestation), { cookie: challenge.cookie ?? '' });
  if (attested.status !== 200) throw new Error(`${tee}: attest failed: ${attested.body}`);
  const token = (JSON.parse(attested.body) as { token: string }).token;
  const cpu0 = (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { submods: { cpu0: Record<string, unknown> } }).submods.cpu0;
  const claims = (cpu0['ear.veraison.annotated-evidence'] as Record<string, Record<string, unknown>>)[tee] ?? {};
  const referenceValues = Object.fromEntries(DEFAULT_CPU_REFERENCE_VALUES[tee].map(({ id, path }) => [id, [claimAt(claims, path)]]));
  const payload = b64std.encode(new TextEncoder().encode(JSON.stringify(referenceValues)));
  const registered = await client.call('POST', '/kbs/v0/reference-value', JSON.stringify({ version: '0.1.0', type: 'sample', payload }), admin);
  if (registered.status !== 200) throw new Error(`${tee}: reference values not registered: ${registered.body}`);
}

try {
  const resourcePath = await setUpResource(client, kbs.adminToken, SECRET);
  console.log(
    `KBS hardware flow bench: factory evidence, builtin AS (default_cpu, reference values registered), SQLite, ${keyKind} TEE keys, ${seconds} s per row, KBS ${values.compiled === true ? 'compiled (dist, plain node)' : 'from source (tsx)'}, ` +
      `KBS worker_count ${workers ?? 'unset (default)'} → ${Math.max(1, kbs.workerProcesses())} serving process(es), ${availableParallelism()} cores, node ${process.version}, load ${loadAverages()}`,
  );
  console.log('KBS CPU = primary + workers from /proc (bench client and evidence generation excluded); floor = KBS-side node:crypto of one flow + the evidence signature checks');
  console.log(TABLE_HEADER);
  for (const tee of tees) {
    await registerReferenceValues(tee);
    const floorMs = measureFloorMs(floorOperation(keyKind, EVIDENCE_CHECKS[tee]));
    for (const guests of guestCounts) {
      const result = await runFlowPhase({ kbs, tee, evidence: (reportData) => factory.evidence(tee, reportData), keyKind, guests, seconds, resourcePath, secret: SECRET });
      console.log(tableRow(`${tee} ${keyKind} ${guests} guest(s)`, result, floorMs));
      if (result.failures > 0) for (const line of kbs.problemLines()) console.log(`  KBS: ${line}`);
    }
  }
} finally {
  client.close();
  await kbs.stop();
  rmSync(anchorsDir, { recursive: true, force: true });
}
