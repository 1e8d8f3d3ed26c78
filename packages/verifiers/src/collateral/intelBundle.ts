import type { CollateralProgress } from './collateralProgress.ts';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VerificationError } from '../verificationError.ts';
import type { IntelCollateral } from '../verifier.ts';

/**
 * Offline Intel collateral. Two JSON forms are accepted:
 * - ours (`IntelCollateralJson`): the `IntelCollateral` members, CRLs as hex;
 * - dcap-qvl's `QuoteCollateralV3` (`tcb_info`, `tcb_info_signature`, `qe_identity`, ...),
 *   the form of `tdx/*_collateral.json` in the shared vectors.
 * A directory holds such JSON files (`*.json`); Intel PcsClientTool files are accepted too
 * (`intelCollateralFromPcsClientTool`). See `loadIntelCollateral`.
 */
export interface IntelCollateralJson {
  readonly tcbInfoIssuerChain: string;
  readonly tcbInfo: string;
  readonly qeIdentityIssuerChain: string;
  readonly qeIdentity: string;
  readonly pckCrlIssuerChain: string;
  /** Hex DER. */
  readonly rootCaCrl: string;
  /** Hex DER. */
  readonly pckCrl: string;
}

function bad(message: string): VerificationError {
  return VerificationError.single('collateral_unavailable', 'collateral.intel.bundle', message);
}

function text(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0) throw bad(`missing string member "${key}"`);
  return v;
}

function hexBytes(o: Record<string, unknown>, key: string): Uint8Array {
  const v = text(o, key);
  if (v.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(v)) throw bad(`member "${key}" is not hex`);
  return new Uint8Array(Buffer.from(v, 'hex'));
}

/** Converts a parsed JSON value in either accepted form into `IntelCollateral`. */
export function intelCollateralFromJson(value: unknown): IntelCollateral {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('expected a JSON object');
  const o = value as Record<string, unknown>;
  if ('tcb_info' in o) {
    const signed = (member: string, body: string, signature: string): string => {
      if (!/^[0-9a-fA-F]{128}$/.test(signature)) throw bad(`${member} signature is not 64 bytes of hex`);
      return `{"${member}":${body},"signature":"${signature}"}`;
    };
    return {
      tcbInfoIssuerChain: text(o, 'tcb_info_issuer_chain'),
      tcbInfo: signed('tcbInfo', text(o, 'tcb_info'), text(o, 'tcb_info_signature')),
      qeIdentityIssuerChain: text(o, 'qe_identity_issuer_chain'),
      qeIdentity: signed('enclaveIdentity', text(o, 'qe_identity'), text(o, 'qe_identity_signature')),
      pckCrlIssuerChain: text(o, 'pck_crl_issuer_chain'),
      rootCaCrl: hexBytes(o, 'root_ca_crl'),
      pckCrl: hexBytes(o, 'pck_crl'),
    };
  }
  return {
    tcbInfoIssuerChain: text(o, 'tcbInfoIssuerChain'),
    tcbInfo: text(o, 'tcbInfo'),
    qeIdentityIssuerChain: text(o, 'qeIdentityIssuerChain'),
    qeIdentity: text(o, 'qeIdentity'),
    pckCrlIssuerChain: text(o, 'pckCrlIssuerChain'),
    rootCaCrl: hexBytes(o, 'rootCaCrl'),
    pckCrl: hexBytes(o, 'pckCrl'),
  };
}

/** Serialises collateral in our JSON form (round-trips through `intelCollateralFromJson`). */
export function intelCollateralToJson(collateral: IntelCollateral): IntelCollateralJson {
  return {
    tcbInfoIssuerChain: collateral.tcbInfoIssuerChain,
    tcbInfo: collateral.tcbInfo,
    qeIdentityIssuerChain: collateral.qeIdentityIssuerChain,
    qeIdentity: collateral.qeIdentity,
    pckCrlIssuerChain: collateral.pckCrlIssuerChain,
    rootCaCrl: Buffer.from(collateral.rootCaCrl).toString('hex'),
    pckCrl: Buffer.from(collateral.pckCrl).toString('hex'),
  };
}

/** Parses a collateral JSON text in either single-bundle form. */
export function parseIntelCollateralText(json: string): IntelCollateral {
  return intelCollateralFromJson(parseJson(json));
}

function parseJson(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    throw bad('collateral file is not JSON');
  }
}

/** Parses a collateral file in any accepted form (one bundle, or a PcsClientTool file with many). */
export function parseIntelCollateralFile(json: string, updateType: 'early' | 'standard' = 'early'): IntelCollateral[] {
  const value = parseJson(json);
  if (typeof value === 'object' && value !== null && 'collaterals' in value) return intelCollateralFromPcsClientTool(value, updateType);
  return [intelCollateralFromJson(value)];
}

/**
 * Loads collateral from a file (one bundle) or a directory (every `*.json` bundle in it).
 * Returns the bundles in directory order; `selectIntelCollateral` picks the one for a quote.
 */
export async function loadIntelCollateral(path: string, updateType: 'early' | 'standard' = 'early'): Promise<IntelCollateral[]> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw bad(`collateral path ${path} does not exist`);
  }
  if (!info.isDirectory()) return parseIntelCollateralFile(await readFile(path, 'utf8'), updateType);
  const names = (await readdir(path)).filter((n) => n.endsWith('.json')).sort();
  const out: IntelCollateral[] = [];
  for (const name of names) out.push(...parseIntelCollateralFile(await readFile(join(path, name), 'utf8'), updateType));
  return out;
}

function urlDecoded(value: unknown, what: string): string {
  if (typeof value !== 'string') throw bad(`missing "${what}"`);
  try {
    return decodeURIComponent(value);
  } catch {
    throw bad(`"${what}" is not URL-encoded PEM`);
  }
}

/**
 * Bundles from an Intel PcsClientTool file (upstream's `collateral_service = "file://..."`):
 * `{"collaterals": {"tcbinfos": [{fmspc, sgx_tcbinfo, sgx_tcbinfo_early, tdx_tcbinfo, tdx_tcbinfo_early}],
 * "pckcacrl": {processorCrl, platformCrl}, "qeidentity"(_early), "tdqeidentity"(_early),
 * "certificates": {"TCB-Info-Issuer-Chain", "SGX-Enclave-Identity-Issuer-Chain",
 * "SGX-PCK-Certificate-Issuer-Chain": {PROCESSOR, PLATFORM}}, "rootcacrl", "rootcacrl_cdp"}}`.
 * `early` falls back to the standard entry when no `_early` one exists. The signed objects are
 * re-serialised compactly in file order, as upstream re-serialises them.
 */
export function intelCollateralFromPcsClientTool(value: unknown, updateType: 'early' | 'standard' = 'early'): IntelCollateral[] {
  const root = value as { collaterals?: Record<string, unknown> } | null;
  const c = root?.collaterals;
  if (typeof c !== 'object' || c === null) throw bad('not a PcsClientTool file (no "collaterals")');
  const pick = (standard: unknown, early: unknown): unknown => (updateType === 'early' ? (early ?? standard) : standard);
  const certs = (c['certificates'] ?? {}) as Record<string, unknown>;
  const pckChains = certs['SGX-PCK-Certificate-Issuer-Chain'] as Record<string, unknown> | undefined;
  const crls = (c['pckcacrl'] ?? {}) as Record<string, unknown>;
  const tcbInfoIssuerChain = urlDecoded(certs['TCB-Info-Issuer-Chain'], 'TCB-Info-Issuer-Chain');
  const qeIdentityIssuerChain = urlDecoded(certs['SGX-Enclave-Identity-Issuer-Chain'], 'SGX-Enclave-Identity-Issuer-Chain');
  const rootCaCrl = hexBytes(c, 'rootcacrl');
  const entries = c['tcbinfos'];
  if (!Array.isArray(entries)) throw bad('"tcbinfos" must be an array');
  const out: IntelCollateral[] = [];
  for (const raw of entries as Array<Record<string, unknown>>) {
    for (const tee of ['sgx', 'tdx'] as const) {
      const tcbInfo = pick(raw[`${tee}_tcbinfo`], raw[`${tee}_tcbinfo_early`]);
      const qeIdentity = tee === 'tdx' ? pick(c['tdqeidentity'], c['tdqeidentity_early']) : pick(c['qeidentity'], c['qeidentity_early']);
      if (tcbInfo === undefined || tcbInfo === null || qeIdentity === undefined || qeIdentity === null || pckChains === undefined) continue;
      for (const ca of ['processor', 'platform'] as const) {
        out.push({
          tcbInfoIssuerChain,
          tcbInfo: JSON.stringify(tcbInfo),
          qeIdentityIssuerChain,
          qeIdentity: JSON.stringify(qeIdentity),
          pckCrlIssuerChain: urlDecoded(pckChains[ca.toUpperCase()], `SGX-PCK-Certificate-Issuer-Chain.${ca.toUpperCase()}`),
          rootCaCrl,
          pckCrl: hexBytes(crls, ca === 'processor' ? 'processorCrl' : 'platformCrl'),
        });
      }
    }
  }
  return out;
}

/** The `rootcacrl_cdp` of a PcsClientTool file, when present. */
export function pcsClientToolRootCrlCdp(value: unknown): string | undefined {
  const cdp = (value as { collaterals?: { rootcacrl_cdp?: unknown } } | null)?.collaterals?.rootcacrl_cdp;
  return typeof cdp === 'string' ? cdp : undefined;
}

/**
 * Writes bundles as a directory `loadIntelCollateral` reads back: one `<tee>-<FMSPC>-<ca>.json`
 * per bundle in our JSON form (`keyOf` names a bundle; the cache's key function fits).
 */
export async function writeIntelCollateralDir(dir: string, bundles: readonly IntelCollateral[], keyOf: (bundle: IntelCollateral) => string, progress?: CollateralProgress): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const names: string[] = [];
  progress?.total(bundles.length);
  for (const bundle of bundles) {
    const name = `${keyOf(bundle).replace(/[^A-Za-z0-9_-]+/g, '-')}.json`;
    await writeFile(join(dir, name), `${JSON.stringify(intelCollateralToJson(bundle), null, 1)}\n`);
    names.push(name);
    progress?.item(`Intel ${name}`);
  }
  return names;
}
