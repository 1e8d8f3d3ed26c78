/**
 * Invariants: the AS policy ids come from the /auth Request's extra-params.id through the
 * operator's map; no id means ["default"]; an undeclared id, an id not allowed for the TEE or a
 * non-string id is refused with a message naming it (and never listing the declared ids); the
 * config table is parsed strictly. In-process KBS: /auth refuses such an id as AttestationError,
 * and a guest that names `gpu` gets a token appraised by the `gpu` policies.
 */
import { afterAll, describe, expect, test } from 'vitest';
import type { Json } from '@trustee/protocol';
import { cleanupHarnessDirs, errorOf, Guest, startHarness, TEST_EAR_POLICY } from '../testing/fixture.ts';
import { AttestationPolicySelector, parsePolicyIdMap, PolicySelectionRefused } from './attestationPolicyIds.ts';

afterAll(() => cleanupHarnessDirs());

describe('AttestationPolicySelector', () => {
  const selector = new AttestationPolicySelector(parsePolicyIdMap({ gpu: ['gpu'], strict: { policies: ['strict_a', 'strict_b'], tees: ['tdx', 'snp'] } }));

  test.each<[string, Json, string[]]>([
    ['no extra-params object', '', ['default']],
    ['no id', { 'supported-hash-algorithms': ['sha384'] }, ['default']],
    ['empty id', { id: '' }, ['default']],
    ['default', { id: 'default' }, ['default']],
    ['gpu', { id: 'gpu' }, ['gpu']],
  ])('%s → %j', (_name, extra, ids) => {
    expect(selector.select('sample', extra)).toEqual(ids);
  });

  test('TEE restrictions and unknown ids are refused with a clear message', () => {
    expect(selector.select('tdx', { id: 'strict' })).toEqual(['strict_a', 'strict_b']);
    expect(() => selector.select('sample', { id: 'strict' })).toThrow(new PolicySelectionRefused('attestation policy id "strict" is not allowed for tee "sample" (allowed: tdx, snp)'));
    expect(() => selector.select('snp', { id: 'other' })).toThrow(new PolicySelectionRefused('attestation policy id "other" is not declared by this KBS'));
    expect(() => selector.select('snp', { id: 7 })).toThrow(PolicySelectionRefused);
    expect(() => new AttestationPolicySelector(undefined).select('snp', { id: 'gpu' })).toThrow(/not declared/);
  });

  test('config: strict shapes', () => {
    for (const bad of [{ 'a/b': ['x'] }, { a: [] }, { a: ['../x'] }, { a: { policies: ['x'], tees: ['nosuchtee'] } }, { a: { policies: ['x'], extra: 1 } }, { a: 'x' }]) {
      expect(() => parsePolicyIdMap(bad), JSON.stringify(bad)).toThrow(/policy_id_map/);
    }
    expect(parsePolicyIdMap(undefined)).toBeUndefined();
  });
});

describe('in-process KBS with [attestation_service.policy_id_map]', () => {
  test('a guest naming `gpu` is appraised with it; an undeclared or disallowed id is refused at /auth', async () => {
    const h = await startHarness({
      edit: (raw) => {
        const section = raw['attestation_service'] as Record<string, unknown>;
        section['policy_id_map'] = { gpu: ['gpu'], tdxonly: { policies: ['gpu'], tees: ['tdx'] } };
      },
    });
    try {
      await h.kbs.attestation?.setPolicy('gpu_cpu', TEST_EAR_POLICY.replace('default executables := 3', 'default executables := 2'));
      const auth = (id: string) => ({ version: '0.4.0', tee: 'sample', 'extra-params': { 'supported-hash-algorithms': ['sha384'], id } });

      const gpuGuest = new Guest(h.app);
      expect((await gpuGuest.auth(auth('gpu'))).statusCode).toBe(200);
      const attested = await gpuGuest.attest();
      expect(attested.statusCode, attested.body).toBe(200);
      const token = (JSON.parse(attested.body) as { token: string }).token;
      const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { submods: { cpu0: Record<string, unknown> } };
      expect(claims.submods.cpu0['ear.appraisal-policy-id']).toBe('gpu');
      expect((claims.submods.cpu0['ear.trustworthiness-vector'] as Record<string, number>)['executables']).toBe(2);

      const plain = new Guest(h.app);
      await plain.rcar();

      for (const [id, reason] of <Array<[string, string]>>[
        ['nosuch', 'attestation policy id "nosuch" is not declared by this KBS'],
        ['tdxonly', 'attestation policy id "tdxonly" is not allowed for tee "sample" (allowed: tdx)'],
      ]) {
        const refused = await new Guest(h.app).auth(auth(id));
        expect(refused.statusCode).toBe(401);
        expect(errorOf(refused)).toEqual({ type: 'https://github.com/confidential-containers/kbs/errors/AttestationError', detail: `Attestation error: RCAR handshake Auth failed: ${reason}` });
      }
    } finally {
      await h.close();
    }
  });
});
