import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { validateConfig } from '@trustee/config';
import type { KeyValueStore } from '@trustee/storage';
import { MemoryStore } from '@trustee/storage';
import type { CollateralSource, SnpTcbVersion } from '../verifier.ts';
import { VerificationError } from '../verificationError.ts';
import { createAmdCollateralSource, tcbPrefix } from './amdCollateral.ts';
import { AMD_KDS_URL, AmdKdsClient, kdsHwid, type FetchLike } from './amdKds.ts';
import { AMD_PRODUCTS, type AmdProduct } from '../snp/amdRoots.ts';
import { snpVerifierConfigSchema } from '../verifierConfigSchemas.ts';

/** Upstream's default offline store (`KDS_OFFLINE_STORE_PATH`). */
export const DEFAULT_KDS_OFFLINE_STORE = '/opt/confidential-containers/attestation-service/kds-store';

/** One entry of upstream's `verifier_config.snp.vcek_sources` (serde `tag = "type"`). */
export type VcekSourceConfig = { readonly type: 'KDS'; readonly baseUrl: string } | { readonly type: 'OfflineStore'; readonly path: string };

export interface SnpVerifierConfig {
  readonly vcekSources: readonly VcekSourceConfig[];
}


/**
 * The VCEK sources a validated `snp_verifier` table asks for (see snpVerifierConfigSchema).
 *
 * @example
 * parseSnpVerifierConfig(asConfig.verifier_config?.snp_verifier, 'verifier_config.snp_verifier');
 * @throws ConfigError naming the key.
 */
export function parseSnpVerifierConfig(raw: unknown, path: string): SnpVerifierConfig {
  const table = validateConfig(snpVerifierConfigSchema.optional(), raw ?? undefined, { at: path }).value;
  const vcekSources = (table?.vcek_sources ?? [{ type: 'KDS' as const }]).map(
    (source): VcekSourceConfig => (source.type === 'KDS' ? { type: 'KDS', baseUrl: source.base_url ?? AMD_KDS_URL } : { type: 'OfflineStore', path: source.path ?? DEFAULT_KDS_OFFLINE_STORE }),
  );
  return { vcekSources };
}

export interface AmdVcekSourcesDeps {
  /** Persistent cache for KDS answers (default: in memory for this process). */
  readonly store?: KeyValueStore;
  readonly fetch?: FetchLike;
  readonly timeoutMs?: number;
}

/**
 * A `CollateralSource` that tries the configured VCEK sources in order, first success wins (as
 * upstream): KDS through the caching AMD collateral source, OfflineStore by reading
 * `{path}/vcek/{hwid}/{tcb_prefix}_vcek.der`, falling back to `{path}/vcek/{hwid}/vcek.der`.
 * CA chains come from the first KDS source.
 */
export function createAmdVcekSources(config: SnpVerifierConfig, deps: AmdVcekSourcesDeps = {}): CollateralSource {
  const store = deps.store ?? new MemoryStore();
  const sources = config.vcekSources.map((source) => {
    if (source.type === 'OfflineStore') return { name: `OfflineStore(${source.path})`, getVcek: offlineStore(source.path), getChain: undefined };
    const kds = new AmdKdsClient({ baseUrl: source.baseUrl, ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }), ...(deps.timeoutMs === undefined ? {} : { timeoutMs: deps.timeoutMs }) });
    const cached = createAmdCollateralSource({ store, kds });
    return { name: `KDS(${source.baseUrl})`, getVcek: cached.getVcek, getChain: cached.getAmdCertChain };
  });
  return {
    async getVcek(product: string, chipId: Uint8Array, tcb: SnpTcbVersion): Promise<Uint8Array> {
      const errors: string[] = [];
      for (const source of sources) {
        try {
          return await source.getVcek(product, chipId, tcb);
        } catch (error) {
          errors.push(`${source.name}: ${(error as Error).message}`);
        }
      }
      throw VerificationError.single('collateral_unavailable', 'snp.vcek', `failed to fetch the VCEK from every configured source (${errors.join('; ') || 'none configured'})`);
    },
    async getAmdCertChain(product: string, kind: 'vcek' | 'vlek'): Promise<string> {
      const source = sources.find((s) => s.getChain !== undefined);
      if (source?.getChain === undefined) throw VerificationError.single('collateral_unavailable', 'snp.cert_chain', 'no KDS source configured');
      return source.getChain(product, kind);
    },
  };
}

function offlineStore(path: string): (product: string, chipId: Uint8Array, tcb: SnpTcbVersion) => Promise<Uint8Array> {
  return async (productName, chipId, tcb) => {
    const product = AMD_PRODUCTS.find((p) => p === productName) as AmdProduct | undefined;
    if (product === undefined) throw new Error(`unknown product ${productName}`);
    const dir = join(path, 'vcek', kdsHwid(product, chipId));
    try {
      return new Uint8Array(await readFile(join(dir, `${tcbPrefix(tcb)}_vcek.der`)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      return new Uint8Array(await readFile(join(dir, 'vcek.der')));
    }
  };
}
