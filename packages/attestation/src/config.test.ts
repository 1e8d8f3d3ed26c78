/**
 * Invariant: both upstream configuration shapes parse to the same typed value, defaults match
 * upstream, unknown keys are ignored, and every rejection names the exact offending key.
 */
import { parse as parseToml } from 'smol-toml';
import { describe, expect, test } from 'vitest';
import { AttestationError } from './attestationError.ts';
import { parseAttestationServiceConfig, TOKEN_BROKER_DEFAULTS } from './config.ts';

describe('parseAttestationServiceConfig', () => {
  test('verifier_config tables of verified TEEs load (upstream\'s tpm_verifier keys included); other keys stay ignored', () => {
    const config = parseAttestationServiceConfig(
      { verifier_config: { tpm_verifier: { trusted_ak_keys_dir: '/etc/tpm/trusted_ak_keys', max_trusted_ak_keys: 50 }, dcap_verifier: { collateral_service: 'https://pccs.example' }, nvidia_verifier: { type: 'Local' }, legacy_key: 1 } },
      'as',
    );
    expect(Object.keys(config.verifierConfig)).toEqual(['tpm_verifier', 'dcap_verifier', 'nvidia_verifier', 'legacy_key']);
  });

  test('empty or absent table gives upstream defaults', () => {
    for (const raw of [undefined, null, {}]) {
      const config = parseAttestationServiceConfig(raw, 'attestation_service');
      expect(config.type).toBe('coco_as_builtin');
      expect(config.timeoutMin).toBe(5);
      expect(config.rvps).toEqual({ type: 'BuiltIn' });
      expect(config.tokenBroker).toEqual(TOKEN_BROKER_DEFAULTS);
      expect(config.verifierConfig).toEqual({});
    }
    expect(TOKEN_BROKER_DEFAULTS).toEqual({
      durationMin: 5,
      issuerName: 'CoCo-Attestation-Service',
      developerName: 'https://confidentialcontainers.org',
      buildName: 'attestation-service 0.1.0',
      profileName: 'tag:github.com,2024:confidential-containers/Trustee',
      verboseToken: true,
    });
  });

  test('KBS TOML [attestation_service] table', () => {
    const toml = parseToml(`
[attestation_service]
type = "coco_as_builtin"
timeout = 7
storage_type = "local_fs"
future_key = 1

[attestation_service.rvps_config]
type = "GrpcRemote"
address = "rvps:50003"

[attestation_service.attestation_token_broker]
duration_min = 10
issuer_name = "me"
verbose_token = false
type = "Ear"

[attestation_service.attestation_token_broker.signer]
key_path = "/etc/key.pem"
cert_path = "/etc/cert.pem"
cert_url = "https://example/cert"

[attestation_service.verifier_config.nvidia_verifier]
type = "Remote"
`);
    const config = parseAttestationServiceConfig(toml.attestation_service, 'attestation_service');
    expect(config.timeoutMin).toBe(7);
    expect(config.storageType).toBe('LocalFs');
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

  test('upstream as-config.json shape', () => {
    const config = parseAttestationServiceConfig(
      {
        work_dir: '/var/lib/as',
        storage_backend: { storage_type: 'Memory', backends: {} },
        rvps_config: { type: 'BuiltIn', storage_type: 'Memory', extractors: { swid_extractor: {} } },
        attestation_token_broker: { type: 'Ear', duration_min: 5, policy_dir: '/x' },
      },
      'as-config.json',
    );
    expect(config.rvps).toEqual({ type: 'BuiltIn', storageType: 'Memory', extractors: { swid_extractor: {} } });
    expect(config.storageBackend).toEqual({ storage_type: 'Memory', backends: {} });
  });

  test('grpc type keeps as_addr and pool_size; aliases are accepted', () => {
    const config = parseAttestationServiceConfig({ type: 'CoCoASGrpc', as_addr: 'http://as:50004' }, 'attestation_service');
    expect(config.type).toBe('coco_as_grpc');
    expect(config.grpc).toEqual({ asAddr: 'http://as:50004', poolSize: 100 });
  });

  test('Sqlite is a storage type here as everywhere else (one list: the storage package\'s)', () => {
    const config = parseAttestationServiceConfig({ storage_type: 'Sqlite', rvps_config: { type: 'BuiltIn', storage_type: 'Sqlite' } }, 'attestation_service');
    expect(config.storageType).toBe('Sqlite');
  });

  test('a fractional session timeout is accepted, as the KBS accepts it (e.g. 0.05 min = 3 s)', () => {
    expect(parseAttestationServiceConfig({ timeout: 0.05 }, 'attestation_service').timeoutMin).toBe(0.05);
  });

  test.each<[string, unknown, string]>([
    ['not a table', 'x', 'attestation_service: expected a table/object, found string'],
    ['unknown type', { type: 'toString' }, 'attestation_service.type: unknown attestation service type'],
    ['negative timeout', { timeout: -1 }, 'attestation_service.timeout: expected a number of minutes > 0'],
    ['zero timeout', { timeout: 0 }, 'attestation_service.timeout: expected a number of minutes > 0'],
    ['string timeout', { timeout: '5' }, 'attestation_service.timeout: expected a number of minutes > 0, found string'],
    ['float duration', { attestation_token_broker: { duration_min: 1.5 } }, 'attestation_service.attestation_token_broker.duration_min: expected an integer >= 0, found float'],
    ['string duration', { attestation_token_broker: { duration_min: '5' } }, 'attestation_service.attestation_token_broker.duration_min: expected an integer >= 0, found string'],
    ['signer without key_path', { attestation_token_broker: { signer: { cert_path: '/x' } } }, 'attestation_service.attestation_token_broker.signer.key_path: is required'],
    ['verbose_token string', { attestation_token_broker: { verbose_token: 'no' } }, 'attestation_service.attestation_token_broker.verbose_token: expected a boolean'],
    ['unknown rvps type', { rvps_config: { type: 'Remote' } }, 'attestation_service.rvps_config.type: unknown RVPS type "Remote"'],
    ['unknown storage type', { storage_type: 'Disk' }, 'attestation_service.storage_type: unknown storage type "Disk"'],
    ['storage type from the prototype', { storage_type: 'constructor' }, 'attestation_service.storage_type: unknown storage type'],
    ['unknown storage type', { storage_type: 'Postgre' }, 'attestation_service.storage_type: unknown storage type "Postgre"'],
    ['verifier_config array', { verifier_config: [] }, 'attestation_service.verifier_config: expected a table/object, found array'],
    ['issuer_name number', { attestation_token_broker: { issuer_name: 3 } }, 'attestation_service.attestation_token_broker.issuer_name: expected a string, found integer'],
    ['an unbuilt verifier (upstream nvidia_dpu_verifier)', { verifier_config: { nvidia_dpu_verifier: {} } }, 'attestation_service.verifier_config.nvidia_dpu_verifier: the nvidia-dpu verifier is not built in trustee-ts'],
    ['an unbuilt verifier (cca)', { verifier_config: { cca_verifier: { x: 1 } } }, 'attestation_service.verifier_config.cca_verifier: the cca verifier is not built'],
    ['an unbuilt verifier (csv)', { verifier_config: { csv_verifier: {} } }, 'the csv verifier is not built'],
    ['an unbuilt verifier (se)', { verifier_config: { se_verifier: {} } }, 'the se verifier is not built'],
    ['an unbuilt verifier (hygon dcu)', { verifier_config: { hygon_dcu_verifier: {} } }, 'the hygondcu verifier is not built'],
    ['an unbuilt verifier, named in the message with the verified ones', { verifier_config: { foo_verifier: {} } }, 'verified TEEs: az-snp-vtpm, az-tdx-vtpm, nvidia, sample, sampledevice, sgx, snp, tdx, tpm'],
  ])('rejects %s with a path-precise message', (_name, raw, message) => {
    let caught: unknown;
    try {
      parseAttestationServiceConfig(raw, 'attestation_service');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(AttestationError);
    expect((caught as AttestationError).code).toBe('invalid_config');
    expect((caught as AttestationError).message).toContain(message);
  });
});
