import type { CollateralProgress } from './collateralProgress.ts';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyValueStore } from '@trustee/storage';
import type { AmdProduct } from '../snp/amdRoots.ts';
import { AMD_PRODUCTS } from '../snp/amdRoots.ts';
import { parseAmdCertificate, splitPemBundle } from '../snp/vekCertificate.ts';
import type { CollateralSource, SnpTcbVersion } from '../verifier.ts';
import { VerificationError } from '../verificationError.ts';
import { AmdKdsClient, kdsHwid } from './amdKds.ts';

export const AMD_COLLATERAL_NAMESPACE = 'collateral_amd';

export interface AmdCollateralOptions {
  readonly store: KeyValueStore;
  /** KDS client; absent = offline (only what was imported or cached). */
  readonly kds?: AmdKdsClient;
  readonly namespace?: string;
  readonly now?: () => Date;
  /** Cached CA chains older than this are refreshed (served stale if KDS fails). Default 24 h. */
  readonly chainMaxAgeMs?: number;
}

export interface AmdCollateralSource extends CollateralSource {
  getVcek(product: string, chipId: Uint8Array, tcb: SnpTcbVersion): Promise<Uint8Array>;
  getAmdCertChain(product: string, kind: 'vcek' | 'vlek'): Promise<string>;
  /** Writes every cached VCEK and chain to `dir` (upstream kds-store layout for VCEKs). */
  exportBundle(dir: string, progress?: CollateralProgress): Promise<{ vceks: number; chains: number }>;
  /** Loads a bundle directory written by `exportBundle` (or an upstream offline kds-store). */
  importBundle(dir: string, progress?: CollateralProgress): Promise<{ vceks: number; chains: number; skipped: string[] }>;
}

/**
 * `tcb_prefix` of upstream's offline store: `bl%02d_tee%02d_snp%02d_ucode%02d` (+`_fmc%02d`).
 */
export function tcbPrefix(tcb: SnpTcbVersion): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  const base = `bl${two(tcb.bootloader)}_tee${two(tcb.tee)}_snp${two(tcb.snp)}_ucode${two(tcb.microcode)}`;
  return tcb.fmc === undefined ? base : `${base}_fmc${two(tcb.fmc)}`;
}

interface StoredChain {
  readonly fetchedAtMs: number;
  readonly pem: string;
}

/**
 * AMD collateral with a persistent cache on a `KeyValueStore`: VCEKs are immutable (a chip at a
 * TCB has one) and cached without expiry; CA chains are refreshed after `chainMaxAgeMs` and served
 * stale when KDS is unreachable. Concurrent requests for one key share a single fetch.
 *
 * @example
 * const collateral = createAmdCollateralSource({ store, kds: new AmdKdsClient() });
 * await snpVerifier.evaluate(evidence, expected, { now: () => new Date(), collateral });
 */
export function createAmdCollateralSource(options: AmdCollateralOptions): AmdCollateralSource {
  const store = options.store;
  const ns = options.namespace ?? AMD_COLLATERAL_NAMESPACE;
  const now = options.now ?? (() => new Date());
  const chainMaxAgeMs = options.chainMaxAgeMs ?? 24 * 3600 * 1000;
  const inFlight = new Map<string, Promise<unknown>>();

  function singleFlight<T>(key: string, work: () => Promise<T>): Promise<T> {
    const pending = inFlight.get(key);
    if (pending !== undefined) return pending as Promise<T>;
    const started = work().finally(() => inFlight.delete(key));
    inFlight.set(key, started);
    return started;
  }

  async function getVcek(productName: string, chipId: Uint8Array, tcb: SnpTcbVersion): Promise<Uint8Array> {
    const product = asProduct(productName);
    const hwid = kdsHwid(product, chipId);
    const key = `vcek/${hwid}/${tcbPrefix(tcb)}`;
    return singleFlight(key, async () => {
      const cached = (await store.get(ns, key)) ?? (await store.get(ns, `vcek/${hwid}/vcek`));
      if (cached !== undefined) return cached;
      if (options.kds === undefined) throw unavailable(`no cached VCEK for this chip at ${tcbPrefix(tcb)} and KDS is disabled (offline)`);
      const der = await options.kds.fetchVcek(product, chipId, tcb);
      await store.set(ns, key, der);
      return der;
    });
  }

  async function getAmdCertChain(productName: string, kind: 'vcek' | 'vlek'): Promise<string> {
    const product = asProduct(productName);
    const key = `chain/${kind}/${product}`;
    return singleFlight(key, async () => {
      const raw = await store.get(ns, key);
      const cached = raw === undefined ? undefined : (JSON.parse(Buffer.from(raw).toString('utf8')) as StoredChain);
      if (cached !== undefined && now().getTime() - cached.fetchedAtMs < chainMaxAgeMs) return cached.pem;
      if (options.kds === undefined) {
        if (cached !== undefined) return cached.pem;
        throw unavailable(`no cached ${kind} cert_chain for ${product} and KDS is disabled (offline)`);
      }
      try {
        const pem = await options.kds.fetchCertChain(product, kind);
        await store.set(ns, key, encodeChain({ fetchedAtMs: now().getTime(), pem }));
        return pem;
      } catch (error) {
        if (cached !== undefined) return cached.pem;
        throw error;
      }
    });
  }

  async function exportBundle(dir: string, progress?: CollateralProgress): Promise<{ vceks: number; chains: number }> {
    let vceks = 0;
    let chains = 0;
    const vcekKeys = await store.list(ns, 'vcek/');
    const chainKeys = await store.list(ns, 'chain/');
    progress?.total(vcekKeys.length + chainKeys.length);
    for (const key of vcekKeys) {
      const [, hwid, prefix] = key.split('/');
      const value = await store.get(ns, key);
      if (hwid === undefined || prefix === undefined || value === undefined || !/^[0-9a-f]+$/.test(hwid)) {
        progress?.item(`AMD ${key}`, 'not a VCEK entry');
        continue;
      }
      await mkdir(join(dir, 'vcek', hwid), { recursive: true });
      await writeFile(join(dir, 'vcek', hwid, prefix === 'vcek' ? 'vcek.der' : `${prefix}_vcek.der`), value);
      vceks += 1;
      progress?.item(`AMD VCEK ${hwid.slice(0, 16)}.../${prefix}`);
    }
    for (const key of chainKeys) {
      const [, kind, product] = key.split('/');
      const value = await store.get(ns, key);
      if (kind === undefined || product === undefined || value === undefined) {
        progress?.item(`AMD ${key}`, 'not a chain entry');
        continue;
      }
      const chain = JSON.parse(Buffer.from(value).toString('utf8')) as StoredChain;
      await mkdir(join(dir, 'cert_chain', kind), { recursive: true });
      await writeFile(join(dir, 'cert_chain', kind, `${product}.pem`), chain.pem);
      chains += 1;
      progress?.item(`AMD ${kind} chain ${product}`);
    }
    return { vceks, chains };
  }

  async function importBundle(dir: string, progress?: CollateralProgress): Promise<{ vceks: number; chains: number; skipped: string[] }> {
    const skipped: string[] = [];
    let vceks = 0;
    let chains = 0;
    for (const hwid of await listDir(join(dir, 'vcek'))) {
      if (!/^[0-9a-f]{16}$|^[0-9a-f]{128}$/.test(hwid)) {
        progress?.total(1);
        progress?.item(`vcek/${hwid}`, 'not a hwid directory');
        skipped.push(`vcek/${hwid}`);
        continue;
      }
      const files = await listDir(join(dir, 'vcek', hwid));
      progress?.total(files.length);
      for (const file of files) {
        const match = /^(?:(bl\d{2,3}_tee\d{2,3}_snp\d{2,3}_ucode\d{2,3}(?:_fmc\d{2,3})?)_)?vcek\.der$/.exec(file);
        const bytes = new Uint8Array(await readFile(join(dir, 'vcek', hwid, file)));
        if (match === null || !isCertificate(bytes)) {
          progress?.item(`vcek/${hwid}/${file}`, 'not a VCEK in the expected layout');
          skipped.push(`vcek/${hwid}/${file}`);
          continue;
        }
        await store.set(ns, `vcek/${hwid}/${match[1] ?? 'vcek'}`, bytes);
        vceks += 1;
        progress?.item(`vcek/${hwid}/${file}`);
      }
    }
    for (const kind of ['vcek', 'vlek'] as const) {
      const files = await listDir(join(dir, 'cert_chain', kind));
      progress?.total(files.length);
      for (const file of files) {
        const product = AMD_PRODUCTS.find((p) => `${p}.pem` === file);
        const pem = await readFile(join(dir, 'cert_chain', kind, file), 'latin1');
        if (product === undefined || splitPemBundle(pem).length < 2 || !splitPemBundle(pem).every(isCertificate)) {
          progress?.item(`cert_chain/${kind}/${file}`, 'not an AMD CA chain in the expected layout');
          skipped.push(`cert_chain/${kind}/${file}`);
          continue;
        }
        await store.set(ns, `chain/${kind}/${product}`, encodeChain({ fetchedAtMs: now().getTime(), pem }));
        chains += 1;
        progress?.item(`cert_chain/${kind}/${file}`);
      }
    }
    return { vceks, chains, skipped };
  }

  return { getVcek, getAmdCertChain, exportBundle, importBundle };
}

function encodeChain(chain: StoredChain): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(chain));
}

function asProduct(name: string): AmdProduct {
  const product = AMD_PRODUCTS.find((p) => p === name);
  if (product === undefined) throw VerificationError.single('unsupported', 'collateral.amd.product', 'unknown AMD product line', AMD_PRODUCTS.join(', '), name);
  return product;
}

function isCertificate(bytes: Uint8Array): boolean {
  try {
    parseAmdCertificate(bytes, 'bundle');
    return true;
  } catch {
    return false;
  }
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}

function unavailable(message: string): VerificationError {
  return VerificationError.single('collateral_unavailable', 'collateral.amd', message);
}
