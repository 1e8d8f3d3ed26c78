/** Builds the `nvidia` verifier `verifier_config.nvidia_verifier` asks for (its schema: nvidiaVerifierTable.ts). */
import { readFileSync } from 'node:fs';
import { createNrasClient, createNvidiaVerifier, type Verifier } from '@trustee/verifiers';
import type { JsonObject } from '@trustee/protocol';
import type { Logger } from '@trustee/log';
import { AttestationError } from './attestationError.ts';
import { NVIDIA_VERIFIER_KEY as KEY, parseNvidiaVerifierConfig } from './nvidiaVerifierTable.ts';
import { readRootFingerprints } from './verifierTrustAnchors.ts';

/**
 * The `nvidia` verifier the config asks for: Remote, or Local over `trust_anchors_path`;
 * `undefined` for plain Local (the registry's verifier over NVIDIA's root applies).
 */
export async function nvidiaVerifierFromConfig(verifierConfig: JsonObject, log?: Logger): Promise<Verifier | undefined> {
  const config = parseNvidiaVerifierConfig(verifierConfig);
  if (config?.trustAnchorsPath !== undefined) {
    const key = `${KEY}.trust_anchors_path`;
    const rootFingerprints = await readRootFingerprints(config.trustAnchorsPath, key);
    const message = `attestation: NON-DEFAULT NVIDIA device roots from ${key} (sha256 ${rootFingerprints.join(', ')}); nvidia evidence is checked against them INSTEAD of the NVIDIA Device Identity CA`;
    if (log === undefined) process.emitWarning(message, 'TrustAnchorWarning');
    else log.warn(message);
    return createNvidiaVerifier({ rootFingerprints });
  }
  if (config?.type !== 'Remote') return undefined;
  let ca: string | undefined;
  if (config.caCertPath !== undefined) {
    try {
      ca = readFileSync(config.caCertPath, 'utf8');
    } catch (error) {
      fail(`${KEY}.ca_cert_path`, `cannot read ${config.caCertPath}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) fail(`${KEY}.ca_cert_path`, `${config.caCertPath} holds no PEM certificate`);
  }
  return createNvidiaVerifier({
    nras: createNrasClient({
      ...(config.verifierUrl === undefined ? {} : { verifierUrl: config.verifierUrl }),
      ...(config.jwksUrl === undefined ? {} : { jwksUrl: config.jwksUrl }),
      ...(ca === undefined ? {} : { ca }),
    }),
  });
}

function fail(key: string, message: string): never {
  throw new AttestationError('invalid_config', `${key}: ${message}`);
}
