/**
 * Operator-pinned trust anchors from `verifier_config` (a trustee-ts addition; upstream compiles
 * its roots in):
 *
 * - `snp_verifier.trust_anchors_path`: a PEM file with AMD-style roots for `snp` and
 *   `az-snp-vtpm`: per product line a self-signed ARK whose subject CN is `ARK-<Milan|Genoa|Turin>`,
 *   the ASK it signed and optionally the ASVK (CN containing `VLEK`).
 * - `dcap_verifier.trust_anchors_path`: a PEM file with Intel-style root CAs for `tdx`, `sgx` and
 *   `az-tdx-vtpm`; PCK, TCB-info and QE-identity chains must end in one of them.
 *
 * The configured anchors REPLACE the production roots for those TEEs (they are not added to
 * them), so this is meant for private test PKIs and lab setups; a warning is logged for each
 * (or emitted as a process warning on stderr when no logger is given).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  AMD_PRODUCTS,
  createAmdTrustAnchors,
  createAzSnpVtpmVerifier,
  createAzTdxVtpmVerifier,
  createSgxVerifier,
  createSnpVerifier,
  createTdxVerifier,
  splitPemBundle,
  tpmVerifierFromOptions,
  type AmdProduct,
  type AmdTrustAnchorInput,
  type TeeName,
  type Verifier,
} from '@trustee/verifiers';
import { ConfigError } from '@trustee/config';
import { isJsonObject, own, type JsonObject } from '@trustee/protocol';
import type { Logger } from '@trustee/log';

/** Largest anchors file read (a handful of certificates). */
const MAX_ANCHORS_FILE_BYTES = 1024 * 1024;

/**
 * Verifiers for the TEEs whose `verifier_config` sub-table names a `trust_anchors_path`; an
 * empty record when none does (the registry's verifiers with the production roots apply).
 *
 * @example
 * // [attestation_service.verifier_config.snp_verifier]
 * // trust_anchors_path = "/etc/trustee/amd-lab-roots.pem"
 * const verifiers = await verifiersFromTrustAnchorConfig(config.verifierConfig, log);
 * @throws ConfigError naming the key and what is wrong with the file.
 */
export async function verifiersFromTrustAnchorConfig(verifierConfig: JsonObject, log?: Logger): Promise<Partial<Record<TeeName, Verifier>>> {
  // Without a logger (a composition root that passes none) the warning still reaches stderr.
  const warn = (message: string): void => (log === undefined ? process.emitWarning(message, 'TrustAnchorWarning') : log.warn(message));
  const verifiers: Partial<Record<TeeName, Verifier>> = {};
  const snpPath = anchorsPath(verifierConfig, 'snp_verifier');
  if (snpPath !== undefined) {
    const key = 'verifier_config.snp_verifier.trust_anchors_path';
    const inputs = amdAnchorInputs(await readPemCertificates(snpPath, key), key);
    const trustAnchors = createAmdTrustAnchors(inputs, key);
    verifiers.snp = createSnpVerifier({ trustAnchors });
    verifiers['az-snp-vtpm'] = createAzSnpVtpmVerifier({ trustAnchors });
    warn(
      `attestation: NON-DEFAULT AMD trust anchors from ${key} (${inputs.map((i) => i.product).join(', ')}); ` +
        'snp and az-snp-vtpm evidence is checked against them INSTEAD of AMD\'s roots',
    );
  }
  const dcapPath = anchorsPath(verifierConfig, 'dcap_verifier');
  if (dcapPath !== undefined) {
    const key = 'verifier_config.dcap_verifier.trust_anchors_path';
    const roots = await readRootFingerprints(dcapPath, key);
    verifiers.tdx = createTdxVerifier({ trustAnchors: roots });
    verifiers.sgx = createSgxVerifier({ trustAnchors: roots });
    verifiers['az-tdx-vtpm'] = createAzTdxVtpmVerifier({ trustAnchors: roots });
    warn(`attestation: NON-DEFAULT Intel root CAs from ${key} (sha256 ${roots.join(', ')}); tdx, sgx and az-tdx-vtpm evidence is checked against them INSTEAD of Intel's SGX root CA`);
  }
  const tpm = own(verifierConfig, 'tpm_verifier');
  if (tpm !== undefined && tpm !== null && isJsonObject(tpm) && typeof own(tpm, 'trusted_ak_keys_dir') === 'string') {
    const key = 'verifier_config.tpm_verifier.trusted_ak_keys_dir';
    const trustedAkKeysDir = own(tpm, 'trusted_ak_keys_dir') as string;
    const max = own(tpm, 'max_trusted_ak_keys');
    try {
      verifiers.tpm = await tpmVerifierFromOptions({ trustedAkKeysDir, ...(typeof max === 'number' ? { maxTrustedAkKeys: max } : {}), warn });
    } catch (error) {
      throw new ConfigError(`${key}: ${(error as Error).message}`, { path: key, cause: error });
    }
  }
  return verifiers;
}

/**
 * SHA-256 fingerprints (hex) of the self-signed root CAs in a PEM file.
 *
 * @throws ConfigError naming `key` when the file is unreadable, empty or holds a non-root.
 */
export async function readRootFingerprints(path: string, key: string): Promise<string[]> {
  return (await readPemCertificates(path, key)).map((der, index) => {
    const cert = parseCertificate(der, key, index);
    if (!cert.checkIssued(cert) || !cert.verify(cert.publicKey)) fail(key, `certificate ${index} (${cert.subject.replace(/\n/g, ', ')}) is not a self-signed root CA`);
    return createHash('sha256').update(der).digest('hex');
  });
}

function anchorsPath(verifierConfig: JsonObject, table: string): string | undefined {
  const sub = own(verifierConfig, table);
  if (sub === undefined || sub === null || !isJsonObject(sub)) return undefined;
  // A non-empty string: verifierConfigSchema checked it when the config was read.
  const value = own(sub, 'trust_anchors_path');
  return typeof value === 'string' ? value : undefined;
}

async function readPemCertificates(path: string, key: string): Promise<Uint8Array[]> {
  let text: string;
  try {
    const bytes = await readFile(path);
    if (bytes.byteLength > MAX_ANCHORS_FILE_BYTES) fail(key, `${path} is larger than ${MAX_ANCHORS_FILE_BYTES} bytes`);
    text = bytes.toString('utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    return fail(key, `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const certificates = splitPemBundle(text);
  if (certificates.length === 0) fail(key, `${path} holds no PEM certificate`);
  return certificates;
}

function parseCertificate(der: Uint8Array, key: string, index: number): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch (error) {
    throw new ConfigError(`${key} certificate ${index}: not a DER certificate`, { path: key, cause: error });
  }
}

function commonName(cert: X509Certificate): string {
  return /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] ?? '';
}

/** Groups a PEM bundle into per-product ARK/ASK/ASVK by subject CN and issuer. */
function amdAnchorInputs(certificates: readonly Uint8Array[], key: string): AmdTrustAnchorInput[] {
  const parsed = certificates.map((der, index) => ({ der, cert: parseCertificate(der, key, index) }));
  const arks = parsed.filter(({ cert }) => cert.subject === cert.issuer);
  if (arks.length === 0) fail(key, 'no self-signed ARK in the file');
  return arks.map(({ der, cert }) => {
    const product = /^ARK-(\w+)$/.exec(commonName(cert))?.[1];
    if (product === undefined || !(AMD_PRODUCTS as readonly string[]).includes(product)) {
      fail(key, `ARK subject CN ${JSON.stringify(commonName(cert))} does not name a product line (ARK-${AMD_PRODUCTS.join('|ARK-')})`);
    }
    const issued = parsed.filter((entry) => entry.cert !== cert && entry.cert.issuer === cert.subject);
    const asks = issued.filter((entry) => !commonName(entry.cert).includes('VLEK'));
    const asvks = issued.filter((entry) => commonName(entry.cert).includes('VLEK'));
    if (asks.length !== 1) fail(key, `expected exactly one ASK issued by ARK-${product}, found ${asks.length}`);
    if (asvks.length > 1) fail(key, `expected at most one ASVK issued by ARK-${product}, found ${asvks.length}`);
    const ask = asks[0] as { der: Uint8Array };
    return { product: product as AmdProduct, ark: der, ask: ask.der, ...(asvks[0] === undefined ? {} : { asvk: asvks[0].der }) };
  });
}

function fail(key: string, message: string): never {
  throw ConfigError.at(key, message);
}
