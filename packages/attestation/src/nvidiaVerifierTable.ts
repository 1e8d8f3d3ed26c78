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
 *
 * This module holds the table's schema and reader only (config readers load it without any
 * verifier); nvidiaVerifierConfig.ts builds the verifier it asks for.
 */
import { fail as refuse, validateConfig } from '@trustee/config';
import { z } from 'zod';
import { own, type JsonObject } from '@trustee/protocol';

export interface NvidiaVerifierConfig {
  readonly type: 'Local' | 'Remote';
  readonly verifierUrl?: string;
  readonly jwksUrl?: string;
  readonly caCertPath?: string;
  readonly trustAnchorsPath?: string;
  readonly revocationDir?: string;
  readonly ocspUrl?: string;
}

export const NVIDIA_VERIFIER_KEY = 'verifier_config.nvidia_verifier';
const TYPES = { Local: 'Local', local: 'Local', Remote: 'Remote', remote: 'Remote' } as const;

const httpUrl = z.string().refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), 'expected an http(s) URL');
const nvidiaTable = z.strictObject({
  type: z.enum(['Local', 'local', 'Remote', 'remote']).optional(),
  verifier_url: httpUrl.optional(),
  jwks_url: httpUrl.optional(),
  ca_cert_path: z.string().min(1).optional(),
  trust_anchors_path: z.string().min(1).optional(),
  // Local-mode device-certificate revocation (see above).
  revocation_dir: z.string().min(1).optional(),
  ocsp_url: httpUrl.optional(),
});

type NvidiaTable = z.output<typeof nvidiaTable>;

function effective(raw: NvidiaTable & { readonly verifier?: NvidiaTable | undefined }): { table: NvidiaTable; at: string[] } {
  const { verifier: nested, ...flat } = raw;
  return nested === undefined ? { table: flat, at: [] } : { table: nested, at: ['verifier'] };
}

/** The `nvidia_verifier` table (its keys directly, or in the nested `verifier` table), validated and kept as given. */
export const nvidiaVerifierTableSchema = nvidiaTable.extend({ verifier: nvidiaTable.optional() }).superRefine((raw, ctx) => {
  const { table, at } = effective(raw);
  const type = TYPES[table.type ?? 'Local'];
  if (type === 'Local' && (table.verifier_url !== undefined || table.jwks_url !== undefined || table.ca_cert_path !== undefined)) refuse(ctx, at, 'verifier_url, jwks_url and ca_cert_path apply to type = "Remote" only');
  if (type === 'Remote' && table.trust_anchors_path !== undefined) refuse(ctx, [...at, 'trust_anchors_path'], 'applies to type = "Local" only (NRAS holds its own roots)');
  if (type === 'Remote' && (table.revocation_dir !== undefined || table.ocsp_url !== undefined)) refuse(ctx, at, 'revocation_dir and ocsp_url apply to type = "Local" only (NRAS checks revocation itself)');
});

const nvidiaVerifierConfigSchema = nvidiaVerifierTableSchema.transform((raw): NvidiaVerifierConfig => {
  const { table } = effective(raw);
  return {
    type: TYPES[table.type ?? 'Local'],
    ...(table.verifier_url === undefined ? {} : { verifierUrl: table.verifier_url }),
    ...(table.jwks_url === undefined ? {} : { jwksUrl: table.jwks_url }),
    ...(table.ca_cert_path === undefined ? {} : { caCertPath: table.ca_cert_path }),
    ...(table.trust_anchors_path === undefined ? {} : { trustAnchorsPath: table.trust_anchors_path }),
    ...(table.revocation_dir === undefined ? {} : { revocationDir: table.revocation_dir }),
    ...(table.ocsp_url === undefined ? {} : { ocspUrl: table.ocsp_url }),
  };
});

/** @throws ConfigError naming the key. */
export function parseNvidiaVerifierConfig(verifierConfig: JsonObject): NvidiaVerifierConfig | undefined {
  const raw = own(verifierConfig, 'nvidia_verifier');
  if (raw === undefined || raw === null) return undefined;
  return validateConfig(nvidiaVerifierConfigSchema, raw, { at: NVIDIA_VERIFIER_KEY }).value;
}

