/**
 * `verifier_config.nvidia_verifier` (upstream deps/verifier/src/nvidia/mod.rs
 * `NvidiaVerifierConfig`: serde `tag = "type"`, flattened): `{"type": "Local"}` (the default) or
 * `{"type": "Remote", "verifier_url"?: "https://nras.attestation.nvidia.com/v4/attest"}`.
 * `local` / `remote` are accepted as upstream's serde aliases, and the keys may also sit in a
 * nested `verifier` table (the TOML form upstream's nvidia README shows).
 *
 * trustee-ts additions, for a private NRAS proxy: `jwks_url` (default NRAS's) and
 * `ca_cert_path` (PEM CAs trusted for those HTTPS connections on top of the system's); for Local
 * mode `trust_anchors_path`: a PEM file of self-signed roots that REPLACE the NVIDIA Device
 * Identity CA (private test PKIs and labs; a warning is logged, like the other trust anchors),
 * and device-certificate revocation (upstream checks none): `revocation_dir`, a directory of
 * offline OCSP responses (`*.ocsp`, DER) and CRLs (`*.crl`, DER or PEM), and/or `ocsp_url`, an
 * OCSP responder (NVIDIA's is https://ocsp.ndis.nvidia.com/) whose answers are cached in the AS
 * store like the other collateral (see verifierCollateral.ts). With either, every provisioned
 * certificate of a device chain must have a current status.
 *
 * Unlike upstream, Remote mode fetches NRAS's JWKS on first use (and caches it), not at startup,
 * so an AS configured for Remote starts without network access.
 */
import { readFileSync } from 'node:fs';
import { createNrasClient, createNvidiaVerifier, type Verifier } from '@trustee/verifiers';
import { AttestationError } from './attestationError.ts';
import { isJsonObject, jsonKind, own, type JsonObject } from './json.ts';
import type { Logger } from '@trustee/log';
import { readRootFingerprints } from './verifierTrustAnchors.ts';

export interface NvidiaVerifierConfig {
  readonly type: 'Local' | 'Remote';
  readonly verifierUrl?: string;
  readonly jwksUrl?: string;
  readonly caCertPath?: string;
  readonly trustAnchorsPath?: string;
  readonly revocationDir?: string;
  readonly ocspUrl?: string;
}

const KEY = 'verifier_config.nvidia_verifier';
const TYPES: Readonly<Record<string, 'Local' | 'Remote'>> = { Local: 'Local', local: 'Local', Remote: 'Remote', remote: 'Remote' };
const KEYS = new Set(['type', 'verifier_url', 'jwks_url', 'ca_cert_path', 'trust_anchors_path', 'revocation_dir', 'ocsp_url']);

/** @throws AttestationError `invalid_config` naming the key. */
export function parseNvidiaVerifierConfig(verifierConfig: JsonObject): NvidiaVerifierConfig | undefined {
  const raw = own(verifierConfig, 'nvidia_verifier');
  if (raw === undefined || raw === null) return undefined;
  if (!isJsonObject(raw)) fail(KEY, `expected a table, found ${jsonKind(raw)}`);
  const nested = own(raw, 'verifier');
  const table = nested === undefined ? raw : isJsonObject(nested) ? nested : fail(`${KEY}.verifier`, `expected a table, found ${jsonKind(nested)}`);
  const path = nested === undefined ? KEY : `${KEY}.verifier`;
  for (const key of Object.keys(table)) if (!KEYS.has(key)) fail(`${path}.${key}`, `unknown key (${[...KEYS].join(', ')})`);
  const typeName = own(table, 'type') ?? 'Local';
  const type = typeof typeName === 'string' && Object.hasOwn(TYPES, typeName) ? TYPES[typeName] : undefined;
  if (type === undefined) fail(`${path}.type`, `expected "Local" or "Remote", found ${JSON.stringify(typeName)}`);
  const verifierUrl = url(table, 'verifier_url', path);
  const jwksUrl = url(table, 'jwks_url', path);
  const caCertPath = own(table, 'ca_cert_path');
  if (caCertPath !== undefined && (typeof caCertPath !== 'string' || caCertPath === '')) fail(`${path}.ca_cert_path`, 'expected a non-empty path');
  const trustAnchorsPath = own(table, 'trust_anchors_path');
  if (trustAnchorsPath !== undefined && (typeof trustAnchorsPath !== 'string' || trustAnchorsPath === '')) fail(`${path}.trust_anchors_path`, 'expected a non-empty path');
  if (type === 'Local' && (verifierUrl !== undefined || jwksUrl !== undefined || caCertPath !== undefined)) fail(path, 'verifier_url, jwks_url and ca_cert_path apply to type = "Remote" only');
  if (type === 'Remote' && trustAnchorsPath !== undefined) fail(path, 'trust_anchors_path applies to type = "Local" only (NRAS holds its own roots)');
  const revocationDir = own(table, 'revocation_dir');
  if (revocationDir !== undefined && (typeof revocationDir !== 'string' || revocationDir === '')) fail(`${path}.revocation_dir`, 'expected a non-empty path');
  const ocspUrl = url(table, 'ocsp_url', path);
  if (type === 'Remote' && (revocationDir !== undefined || ocspUrl !== undefined)) fail(path, 'revocation_dir and ocsp_url apply to type = "Local" only (NRAS checks revocation itself)');
  return {
    type,
    ...(verifierUrl === undefined ? {} : { verifierUrl }),
    ...(jwksUrl === undefined ? {} : { jwksUrl }),
    ...(caCertPath === undefined ? {} : { caCertPath }),
    ...(trustAnchorsPath === undefined ? {} : { trustAnchorsPath }),
    ...(revocationDir === undefined ? {} : { revocationDir }),
    ...(ocspUrl === undefined ? {} : { ocspUrl }),
  };
}

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

function url(table: JsonObject, key: string, path: string): string | undefined {
  const value = own(table, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') fail(`${path}.${key}`, `expected a URL string, found ${jsonKind(value)}`);
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return fail(`${path}.${key}`, `${JSON.stringify(value)} is not a URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') fail(`${path}.${key}`, 'must be an http(s) URL');
  return value;
}

function fail(key: string, message: string): never {
  throw new AttestationError('invalid_config', `${key}: ${message}`);
}
