import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { VerificationError } from '../verificationError.ts';
import type { IntelCollateral } from '../verifier.ts';

/**
 * Offline Intel collateral. Two JSON forms are accepted:
 * - ours (`IntelCollateralJson`): the `IntelCollateral` members, CRLs as hex;
 * - dcap-qvl's `QuoteCollateralV3` (`tcb_info`, `tcb_info_signature`, `qe_identity`, ...),
 *   the form of `tdx/*_collateral.json` in the shared vectors.
 * A directory holds one such JSON file per FMSPC/CA (`<anything>.json`); see `loadIntelBundleDir`.
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

/** Parses a collateral JSON text in either accepted form. */
export function parseIntelCollateralText(json: string): IntelCollateral {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw bad('collateral file is not JSON');
  }
  return intelCollateralFromJson(value);
}

/**
 * Loads collateral from a file (one bundle) or a directory (every `*.json` bundle in it).
 * Returns the bundles in directory order; `selectIntelCollateral` picks the one for a quote.
 */
export async function loadIntelCollateral(path: string): Promise<IntelCollateral[]> {
  const info = await stat(path);
  if (!info.isDirectory()) return [parseIntelCollateralText(await readFile(path, 'utf8'))];
  const names = (await readdir(path)).filter((n) => n.endsWith('.json')).sort();
  const out: IntelCollateral[] = [];
  for (const name of names) out.push(parseIntelCollateralText(await readFile(join(path, name), 'utf8')));
  return out;
}
