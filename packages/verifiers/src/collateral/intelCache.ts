import type { CollateralProgress } from './collateralProgress.ts';
import type { KeyValueStore } from '@trustee/storage';
import { topLevelMembers } from '../dcap/signedJson.ts';
import { parseCrl } from '../dcap/x509.ts';
import { VerificationError } from '../verificationError.ts';
import type { CollateralSource, IntelCollateral, IntelCollateralRequest } from '../verifier.ts';
import { intelCollateralFromJson, intelCollateralToJson } from './intelBundle.ts';

/**
 * A persistent, shared cache of Intel collateral on a `KeyValueStore` (namespace
 * `collateral_intel`, key `<tee>:<FMSPC>:<ca>`):
 * - fresh until the earliest `nextUpdate` of its TCB info, QE identity and CRLs;
 * - one upstream request per key at a time (single-flight), however many verifications wait;
 * - stale-if-error: when the refresh fails, the stale bundle is served (verification then flags
 *   `collateral_expiration_status` = "1"); with nothing cached the error propagates;
 * - an in-process tier so the hot path does not re-read and re-parse the store.
 */
export const INTEL_COLLATERAL_NAMESPACE = 'collateral_intel';

export interface IntelCollateralCacheOptions {
  readonly store: KeyValueStore;
  /** Where fresh collateral comes from (PCS/PCCS client, or another source). */
  readonly upstream: (request: IntelCollateralRequest) => Promise<IntelCollateral>;
  readonly now?: () => Date;
  readonly namespace?: string;
  /** Refresh this long before `nextUpdate` (default 0). */
  readonly refreshAheadMs?: number;
}

export interface IntelCollateralCache extends CollateralSource {
  getIntelCollateral(request: IntelCollateralRequest): Promise<IntelCollateral>;
  /** Stores bundles (offline import); each is keyed by its own TCB info and PCK CRL issuer. */
  importBundles(bundles: readonly IntelCollateral[], progress?: CollateralProgress): Promise<number>;
  /** Every cached bundle, for offline export (`intelCollateralToJson` serialises them). */
  exportBundles(): Promise<IntelCollateral[]>;
}

interface Entry {
  readonly collateral: IntelCollateral;
  readonly freshUntil: number;
}

interface StoredEntry {
  readonly freshUntil: string;
  readonly fetchedAt: string;
  readonly collateral: ReturnType<typeof intelCollateralToJson>;
}

export function cacheKey(request: IntelCollateralRequest): string {
  return `${request.tee}:${request.fmspc.toUpperCase()}:${request.pckCa}`;
}

/** The earliest nextUpdate among the bundle's signed JSON and CRLs (ms since epoch). */
export function collateralFreshUntil(collateral: IntelCollateral): number {
  const next = (text: string, member: string): number => {
    const body = topLevelMembers(text, `collateral.intel.${member}`).get(member);
    const value = body === undefined ? undefined : (JSON.parse(body) as { nextUpdate?: unknown }).nextUpdate;
    const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(ms)) throw VerificationError.single('collateral_unavailable', `collateral.intel.${member}`, 'no nextUpdate');
    return ms;
  };
  const crlNext = (der: Uint8Array, what: string): number => parseCrl(der, what).nextUpdate?.getTime() ?? Number.POSITIVE_INFINITY;
  return Math.min(
    next(collateral.tcbInfo, 'tcbInfo'),
    next(collateral.qeIdentity, 'enclaveIdentity'),
    crlNext(collateral.rootCaCrl, 'collateral.intel.root_ca_crl'),
    crlNext(collateral.pckCrl, 'collateral.intel.pck_crl'),
  );
}

function keyOfBundle(collateral: IntelCollateral): string {
  const body = topLevelMembers(collateral.tcbInfo, 'collateral.intel.tcb_info').get('tcbInfo') ?? 'null';
  const info = JSON.parse(body) as { id?: unknown; fmspc?: unknown } | null;
  const crl = parseCrl(collateral.pckCrl, 'collateral.intel.pck_crl');
  const issuer = Buffer.from(crl.issuerDer).toString('latin1');
  const ca = issuer.includes('Platform') ? 'platform' : issuer.includes('Processor') ? 'processor' : undefined;
  if (info === null || typeof info.fmspc !== 'string' || ca === undefined) {
    throw VerificationError.single('collateral_unavailable', 'collateral.intel.bundle', 'cannot tell which platform this bundle is for');
  }
  return cacheKey({ tee: info.id === 'SGX' ? 'sgx' : 'tdx', fmspc: info.fmspc, pckCa: ca });
}

/**
 * Creates the caching collateral source.
 *
 * @example
 * const collateral = createIntelCollateralCache({ store, upstream: createIntelPcsClient(config).fetchCollateral });
 * await tdxVerifier.evaluate(evidence, expected, { now: () => new Date(), collateral });
 */
export function createIntelCollateralCache(options: IntelCollateralCacheOptions): IntelCollateralCache {
  const namespace = options.namespace ?? INTEL_COLLATERAL_NAMESPACE;
  const now = options.now ?? ((): Date => new Date());
  const ahead = options.refreshAheadMs ?? 0;
  const memory = new Map<string, Entry>();
  const inflight = new Map<string, Promise<IntelCollateral>>();

  async function readStore(key: string): Promise<Entry | undefined> {
    const raw = await options.store.get(namespace, key);
    if (raw === undefined) return undefined;
    try {
      const stored = JSON.parse(Buffer.from(raw).toString('utf8')) as StoredEntry;
      const entry = { collateral: intelCollateralFromJson(stored.collateral), freshUntil: Date.parse(stored.freshUntil) };
      memory.set(key, entry);
      return entry;
    } catch {
      return undefined; // a corrupt entry is treated as a miss and overwritten by the next fetch
    }
  }

  async function write(key: string, collateral: IntelCollateral): Promise<Entry> {
    const entry = { collateral, freshUntil: collateralFreshUntil(collateral) };
    const stored: StoredEntry = {
      freshUntil: new Date(entry.freshUntil).toISOString(),
      fetchedAt: now().toISOString(),
      collateral: intelCollateralToJson(collateral),
    };
    await options.store.set(namespace, key, Buffer.from(JSON.stringify(stored), 'utf8'));
    memory.set(key, entry);
    return entry;
  }

  const fresh = (entry: Entry | undefined): boolean => entry !== undefined && now().getTime() + ahead < entry.freshUntil;

  async function refresh(key: string, request: IntelCollateralRequest): Promise<IntelCollateral> {
    const stale = memory.get(key) ?? (await readStore(key));
    if (stale !== undefined && fresh(stale)) return stale.collateral;
    try {
      const collateral = await options.upstream(request);
      return (await write(key, collateral)).collateral;
    } catch (error) {
      if (stale !== undefined) return stale.collateral;
      throw error;
    }
  }

  return {
    getIntelCollateral(request: IntelCollateralRequest): Promise<IntelCollateral> {
      const key = cacheKey(request);
      const hot = memory.get(key);
      if (hot !== undefined && fresh(hot)) return Promise.resolve(hot.collateral);
      let pending = inflight.get(key);
      if (pending === undefined) {
        pending = refresh(key, request).finally(() => inflight.delete(key));
        inflight.set(key, pending);
      }
      return pending;
    },
    async importBundles(bundles: readonly IntelCollateral[], progress?: CollateralProgress): Promise<number> {
      progress?.total(bundles.length);
      for (const bundle of bundles) {
        const key = keyOfBundle(bundle);
        await write(key, bundle);
        progress?.item(`Intel ${key}`);
      }
      return bundles.length;
    },
    async exportBundles(): Promise<IntelCollateral[]> {
      const out: IntelCollateral[] = [];
      for (const key of await options.store.list(namespace)) {
        const entry = memory.get(key) ?? (await readStore(key));
        if (entry !== undefined) out.push(entry.collateral);
      }
      return out;
    },
  };
}
