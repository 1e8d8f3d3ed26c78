/**
 * Invariant: the attestation-core keys of both upstream shapes (as-config.json, the KBS's
 * [attestation_service] table) parse to the same typed value with upstream's defaults, and
 * every rejection — a wrong type, an unknown key, a verifier this build does not have — names
 * the exact key.
 */
import { ConfigError } from '@trustee/config';
import { parse as parseToml } from 'smol-toml';
import { describe, expect, test } from 'vitest';
import { parseAttestationServiceConfig, TOKEN_BROKER_DEFAULTS } from './config.ts';

describe('parseAttestationServiceConfig', () => {
  test('verifier_config tables of verified TEEs load', () => {
    const config = parseAttestationServiceConfig(
      { verifier_config: { dcap_verifier: { collateral_service: 'https://pccs.example' }, nvidia_verifier: { type: 'Local' }, snp_verifier: { vcek_sources: [{ type: 'KDS' }] }, tpm_verifier: { trusted_ak_keys_dir: '/etc/tpm/trusted_ak_keys', max_trusted_ak_keys: 50 } } },
      'as',
    );
    expect(Object.keys(config.verifierConfig).sort()).toEqual(['dcap_verifier', 'nvidia_verifier', 'snp_verifier', 'tpm_verifier']);
  });

  test('empty or absent table gives upstream defaults', () => {
    for (const raw of [undefined, null, {}]) {
      const config = parseAttestationServiceConfig(raw, 'attestation_service');
      expect(config.rvps).toEqual({ type: 'BuiltIn' });
      expect(config.tokenBroker).toEqual(TOKEN_BROKER_DEFAULTS);
      expect(config.verifierConfig).toEqual({});
    }
    // Upstream's EarTokenConfiguration defaults (attestation-service/src/ear_token/mod.rs).
    const { durationMin, issuerName, developerName, profileName, verboseToken } = TOKEN_BROKER_DEFAULTS;
    expect([durationMin, issuerName, developerName, profileName, verboseToken]).toEqual([5, 'CoCo-Attestation-Service', 'https://confidentialcontainers.org', 'tag:github.com,2024:confidential-containers/Trustee', true]);
  });

  test('the core keys in TOML, as a KBS [attestation_service] table holds them', () => {
    const toml = parseToml(`
[rvps_config]
type = "GrpcRemote"
address = "rvps:50003"

[attestation_token_broker]
duration_min = 10
issuer_name = "me"
verbose_token = false
type = "Ear"

[attestation_token_broker.signer]
key_path = "/etc/key.pem"
cert_path = "/etc/cert.pem"
cert_url = "https://example/cert"

[verifier_config.nvidia_verifier]
type = "Remote"
`);
    const config = parseAttestationServiceConfig(toml, 'attestation_service');
    expect(config.rvps).toEqual({ type: 'GrpcRemote', address: 'http://rvps:50003' });
    expect(config.tokenBroker).toEqual({
      ...TOKEN_BROKER_DEFAULTS,
      durationMin: 10,
      issuerName: 'me',
      verboseToken: false,
      signer: { keyPath: '/etc/key.pem', certPath: '/etc/cert.pem', certUrl: 'https://example/cert' },
    });
    expect(config.verifierConfig).toEqual({ nvidia_verifier: { type: 'Remote' } });
  });

  test('the builtin RVPS keeps its storage override (upstream aliases) and extractors', () => {
    const config = parseAttestationServiceConfig({ rvps_config: { type: 'BuiltIn', storage_type: 'local_fs', extractors: { swid_extractor: {} } } }, 'as-config.json');
    expect(config.rvps).toEqual({ type: 'BuiltIn', storageType: 'LocalFs', extractors: { swid_extractor: {} } });
  });

  test.each<[string, unknown, string]>([
    ['not a table', 'x', 'attestation_service: expected a table, found the string "x"'],
    ['float duration', { attestation_token_broker: { duration_min: 1.5 } }, 'attestation_service.attestation_token_broker.duration_min: expected an integer, found number 1.5'],
    ['string duration', { attestation_token_broker: { duration_min: '5' } }, 'attestation_service.attestation_token_broker.duration_min: expected a number, found the string "5"'],
    ['signer without key_path', { attestation_token_broker: { signer: { cert_path: '/x' } } }, 'attestation_service.attestation_token_broker.signer.key_path: required'],
    ['verbose_token string', { attestation_token_broker: { verbose_token: 'no' } }, 'attestation_service.attestation_token_broker.verbose_token: expected a boolean'],
    ['a token type other than EAR', { attestation_token_broker: { type: 'Simple' } }, 'attestation_service.attestation_token_broker.type: expected one of "Ear"'],
    ['a legacy token broker key', { attestation_token_broker: { policy_dir: '/x' } }, 'attestation_service.attestation_token_broker.policy_dir: unknown key'],
    ['unknown rvps type', { rvps_config: { type: 'Remote' } }, 'attestation_service.rvps_config.type: expected one of "BuiltIn", "GrpcRemote"'],
    ['a builtin key on a remote RVPS', { rvps_config: { type: 'GrpcRemote', storage_type: 'Memory' } }, 'attestation_service.rvps_config.storage_type: applies to type = "BuiltIn" only'],
    ['unknown storage type', { rvps_config: { storage_type: 'Disk' } }, 'attestation_service.rvps_config.storage_type: unknown storage type "Disk"'],
    ['storage type from the prototype', { rvps_config: { storage_type: 'constructor' } }, 'attestation_service.rvps_config.storage_type: unknown storage type'],
    ['a misspelled section', { verifier_confg: {} }, 'attestation_service.verifier_confg: unknown key (did you mean "verifier_config"?)'],
    ['verifier_config array', { verifier_config: [] }, 'attestation_service.verifier_config: expected a table, found an array'],
    ['issuer_name number', { attestation_token_broker: { issuer_name: 3 } }, 'attestation_service.attestation_token_broker.issuer_name: expected a string, found number 3'],
    ['a misspelled dcap key', { verifier_config: { dcap_verifier: { collateral_service: 'https://p', tcb_update: 'early' } } }, 'attestation_service.verifier_config.dcap_verifier.tcb_update: unknown key (did you mean "tcb_update_type"?)'],
    ['a bad vcek source', { verifier_config: { snp_verifier: { vcek_sources: [{ type: 'Cache' }] } } }, 'attestation_service.verifier_config.snp_verifier.vcek_sources[0].type'],
    ['max_trusted_ak_keys without its directory', { verifier_config: { tpm_verifier: { max_trusted_ak_keys: 5 } } }, 'attestation_service.verifier_config.tpm_verifier.max_trusted_ak_keys: applies with trusted_ak_keys_dir only'],
    ['max_trusted_ak_keys out of range', { verifier_config: { tpm_verifier: { trusted_ak_keys_dir: '/etc/tpm', max_trusted_ak_keys: 0 } } }, 'attestation_service.verifier_config.tpm_verifier.max_trusted_ak_keys: must be at least 1'],
    ['an unbuilt verifier (upstream nvidia_dpu_verifier)', { verifier_config: { nvidia_dpu_verifier: {} } }, 'attestation_service.verifier_config.nvidia_dpu_verifier: the nvidia-dpu verifier is not built in trustee-ts'],
    ['an unbuilt verifier (cca)', { verifier_config: { cca_verifier: { x: 1 } } }, 'attestation_service.verifier_config.cca_verifier: the cca verifier is not built'],
    ['an unbuilt verifier (csv)', { verifier_config: { csv_verifier: {} } }, 'the csv verifier is not built'],
    ['an unbuilt verifier (se)', { verifier_config: { se_verifier: {} } }, 'the se verifier is not built'],
    ['an unbuilt verifier (hygon dcu)', { verifier_config: { hygon_dcu_verifier: {} } }, 'the hygondcu verifier is not built'],
    ['an unbuilt verifier, named with the verified ones', { verifier_config: { se_verifier: {} } }, 'verified TEEs: az-snp-vtpm, az-tdx-vtpm, nvidia, sample, sampledevice, sgx, snp, tdx, tpm'],
    ['an unknown verifier table', { verifier_config: { snp_verifer: {} } }, 'attestation_service.verifier_config.snp_verifer: unknown key (did you mean "snp_verifier"?)'],
  ])('rejects %s with a path-precise message', (_name, raw, message) => {
    let caught: unknown;
    try {
      parseAttestationServiceConfig(raw, 'attestation_service');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).code).toBe('invalid_config');
    expect((caught as ConfigError).message).toContain(message);
  });
});
