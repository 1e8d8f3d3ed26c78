import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { validateConfig } from '@trustee/config';
import type { KeyValueStore } from '@trustee/storage';
import { VerificationError } from '../verificationError.ts';
import type { CollateralSource, IntelCollateral, IntelCollateralRequest } from '../verifier.ts';
import { parseIntelCollateralFile, pcsClientToolRootCrlCdp } from './intelBundle.ts';
import { createIntelCollateralCache } from './intelCache.ts';
import { createIntelPcsClient, INTEL_PCS_URL, rootCaCrlDistributionPoint, type FetchFunction } from './intelPcs.ts';
import { staticIntelCollateral } from './intelStatic.ts';
import { dcapVerifierConfigSchema } from '../verifierConfigSchemas.ts';

/** Upstream's `verifier_config.dcap_verifier` (`QcnlConfig`), used by tdx, sgx and az-tdx-vtpm. */
export interface DcapVerifierConfig {
  /** `https://…` (PCS or PCCS; only scheme://host:port is used) or `file:///path.json` (offline). */
  readonly collateralService: string;
  readonly tcbUpdateType: 'early' | 'standard';
  readonly useSecureCert?: boolean;
}

export const DEFAULT_DCAP_VERIFIER_CONFIG: DcapVerifierConfig = { collateralService: INTEL_PCS_URL, tcbUpdateType: 'early' };

/**
 * Absent → Intel PCS, `early`; present → validated by dcapVerifierConfigSchema.
 *
 * @throws ConfigError naming the key.
 */
export function parseDcapVerifierConfig(raw: unknown, path = 'verifier_config.dcap_verifier'): DcapVerifierConfig {
  const table = validateConfig(dcapVerifierConfigSchema.optional(), raw ?? undefined, { at: path }).value;
  if (table === undefined) return DEFAULT_DCAP_VERIFIER_CONFIG;
  return { collateralService: table.collateral_service, tcbUpdateType: table.tcb_update_type ?? 'early', ...(table.use_secure_cert === undefined ? {} : { useSecureCert: table.use_secure_cert }) };
}

/**
 * Offline collateral from a file (PcsClientTool or bundle JSON), re-read only when its mtime
 * changes, as upstream's `file://` backend. The root CA CRL's distribution point must match the
 * file's `rootcacrl_cdp` when both are known.
 */
export function fileIntelCollateral(path: string, updateType: 'early' | 'standard' = 'early'): CollateralSource {
  let cached: { mtimeMs: number; source: CollateralSource; cdp: string | undefined } | undefined;
  return {
    async getIntelCollateral(request: IntelCollateralRequest): Promise<IntelCollateral> {
      let mtimeMs: number;
      try {
        // Checked for every quote: a synchronous stat of a local file costs microseconds, where the
        // promise API's round trip through libuv's thread pool was ~3% of a TDX flow's KBS CPU.
        mtimeMs = statSync(path).mtimeMs;
      } catch {
        throw VerificationError.single('collateral_unavailable', 'collateral.intel.file', `collateral file ${path} is not readable`);
      }
      if (cached === undefined || cached.mtimeMs !== mtimeMs) {
        const text = await readFile(path, 'utf8');
        const bundles = parseIntelCollateralFile(text, updateType);
        let cdp: string | undefined;
        try {
          cdp = pcsClientToolRootCrlCdp(JSON.parse(text) as unknown);
        } catch {
          cdp = undefined;
        }
        cached = { mtimeMs, source: staticIntelCollateral(bundles), cdp };
      }
      const collateral = await (cached.source.getIntelCollateral as (r: IntelCollateralRequest) => Promise<IntelCollateral>)(request);
      const requested = rootCaCrlDistributionPoint(collateral.qeIdentityIssuerChain);
      if (cached.cdp !== undefined && requested !== undefined && cached.cdp !== requested) {
        throw VerificationError.single('collateral_unavailable', 'collateral.intel.file.rootcacrl_cdp', 'the file\'s root CA CRL is for another distribution point', requested, cached.cdp);
      }
      return collateral;
    },
  };
}

/**
 * The Intel collateral source for a `dcap_verifier` config: `file://` → offline file; otherwise
 * the PCS/PCCS client behind the persistent cache on `store`.
 *
 * @example
 * const intel = createIntelCollateralSource(parseDcapVerifierConfig(config.verifier_config?.dcap_verifier), { store });
 */
export function createIntelCollateralSource(
  config: DcapVerifierConfig,
  deps: { readonly store: KeyValueStore; readonly now?: () => Date; readonly fetch?: FetchFunction; readonly timeoutMs?: number },
): CollateralSource {
  const url = new URL(config.collateralService);
  if (url.protocol === 'file:') return fileIntelCollateral(fileURLToPath(url), config.tcbUpdateType);
  const pcs = createIntelPcsClient({
    url: config.collateralService,
    updateType: config.tcbUpdateType,
    ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
    ...(deps.timeoutMs === undefined ? {} : { timeoutMs: deps.timeoutMs }),
  });
  return createIntelCollateralCache({ store: deps.store, upstream: (request) => pcs.fetchCollateral(request), ...(deps.now === undefined ? {} : { now: deps.now }) });
}
