/**
 * Invariant: real hardware evidence flows through the whole AS — verifier, transform_claims,
 * default_cpu with reference values, EAR — and reference values taken from the token's own
 * annotated evidence turn a contraindicated appraisal into an affirming one.
 * Reads ../shared/vectors in place; skipped when absent.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { MemoryStore } from '@trustee/storage';
import { createAttestationService, type AttestationService } from './attestationService.ts';
import { parseAttestationServiceConfig } from './config.ts';
import type { Json, JsonObject } from '@trustee/protocol';

const vectors = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared/vectors');
const azSnpEvidence = join(vectors, 'az-snp-vtpm/trustee-evidence-v1.json');

function cpu0(token: string): JsonObject {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as JsonObject;
  return (payload.submods as JsonObject).cpu0 as JsonObject;
}

async function register(service: AttestationService, values: Record<string, Json>): Promise<void> {
  await service.registerReferenceValue(JSON.stringify({ version: '0.1.0', type: 'sample', payload: Buffer.from(JSON.stringify(values)).toString('base64') }));
}

describe.skipIf(!existsSync(azSnpEvidence))('AS on real az-snp-vtpm evidence', () => {
  test('contraindicated without reference values, affirming with them', async () => {
    const service = await createAttestationService({
      store: new MemoryStore(),
      config: parseAttestationServiceConfig({}, 'attestation_service'),
      now: () => new Date('2026-06-01T00:00:00Z'),
    });
    const evidence = JSON.parse(readFileSync(azSnpEvidence, 'utf8')) as Json;
    const request = { tee: 'az-snp-vtpm' as const, evidence, runtimeData: { raw: new TextEncoder().encode('challenge') } };

    const first = cpu0(await service.evaluate([request], ['default']));
    expect(first['ear.status']).toBe('contraindicated');
    expect(first['ear.trustworthiness-vector']).toMatchObject({ executables: 33, hardware: 97, configuration: 36 });
    const annotated = first['ear.veraison.annotated-evidence'] as JsonObject;
    expect(Object.keys(annotated)).toEqual(['az-snp-vtpm', 'init_data', 'init_data_claims', 'report_data', 'runtime_data_claims']);
    expect(annotated.report_data).toBe('6368616c6c656e6765');
    expect(annotated.runtime_data_claims).toBeNull();
    const claims = annotated['az-snp-vtpm'] as Record<string, Json>;

    await register(service, {
      measurement: [claims.measurement!],
      snp_pcr11: [(claims.tpm as Record<string, Json>).pcr11!],
      tcb_bootloader: [claims.reported_tcb_bootloader!],
      tcb_microcode: [claims.reported_tcb_microcode!],
      tcb_snp: [claims.reported_tcb_snp!],
      tcb_tee: [claims.reported_tcb_tee!],
      smt_enabled: [claims.platform_smt_enabled!],
      tsme_enabled: [claims.platform_tsme_enabled!],
      abi_major: [claims.policy_abi_major!],
      abi_minor: [claims.policy_abi_minor!],
      single_socket: [claims.policy_single_socket!],
      smt_allowed: [claims.policy_smt_allowed!],
    });
    const second = cpu0(await service.evaluate([request], ['default']));
    expect(second['ear.status']).toBe('affirming');
    expect(second['ear.trustworthiness-vector']).toMatchObject({ executables: 3, hardware: 2, configuration: 2 });

    await register(service, { tcb_microcode: ['218'] });
    expect(cpu0(await service.evaluate([request], ['default']))['ear.trustworthiness-vector']).toMatchObject({ hardware: 97 });
  });

  test('a different nonce fails the whole call', async () => {
    const service = await createAttestationService({ store: new MemoryStore(), config: parseAttestationServiceConfig({}, 'x'), now: () => new Date('2026-06-01T00:00:00Z') });
    const evidence = JSON.parse(readFileSync(azSnpEvidence, 'utf8')) as Json;
    await expect(service.evaluate([{ tee: 'az-snp-vtpm', evidence, runtimeData: { raw: new TextEncoder().encode('challengf') } }], ['default'])).rejects.toMatchObject({
      code: 'verification_failed',
    });
  });
});
