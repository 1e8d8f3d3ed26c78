import { parseIntelCollateralText } from '../collateral/intelBundle.ts';
import type { IntelCollateral } from '../verifier.ts';
import { hasVectors, readVector, readVectorText } from './snpVectors.ts';

/**
 * Helpers over the shared real TDX vectors (`../shared/vectors/tdx`). Most Intel collateral in
 * the corpus comes as separate files (TCB info, QE identity) without PCS issuer-chain headers;
 * the MANIFEST notes that the Intel SGX TCB Signing certificate in the dcap-qvl bundle signs them
 * all, so bundles are assembled from that chain plus the chosen files.
 */

export const DCAPQVL_COLLATERAL = 'tdx/dcapqvl-tdx_quote_collateral.json';
export const DCAPQVL_OUTDATED_COLLATERAL = 'tdx/dcapqvl-tdx_quote_outdated_collateral.json';

export function hasTdxVectors(...files: string[]): boolean {
  return hasVectors(DCAPQVL_COLLATERAL, DCAPQVL_OUTDATED_COLLATERAL, ...files);
}

export function vectorCollateral(file: string): IntelCollateral {
  return parseIntelCollateralText(readVectorText(file));
}

/**
 * A bundle made of a PCS `{"tcbInfo":...}` response file, a QE identity (a PCS response file, or
 * the QE identity of a dcap-qvl bundle) and the chains/CRLs of a dcap-qvl bundle.
 */
export function assembledCollateral(options: { tcbInfo: string; qeIdentity?: string; base?: string }): IntelCollateral {
  const base = vectorCollateral(options.base ?? DCAPQVL_COLLATERAL);
  return {
    ...base,
    tcbInfo: readVectorText(options.tcbInfo),
    ...(options.qeIdentity === undefined ? {} : { qeIdentity: readVectorText(options.qeIdentity) }),
  };
}

/** Quote bytes from the several container forms in the corpus (raw, hex text, base64 text, JSON, Oak protobuf). */
export function vectorQuote(file: string): Uint8Array {
  const bytes = readVector(file);
  if (file.endsWith('.hex')) {
    const text = Buffer.from(bytes).toString('latin1').trim().replace(/^0x/, '');
    return new Uint8Array(Buffer.from(text, 'hex'));
  }
  if (file.endsWith('.json')) {
    const json = JSON.parse(Buffer.from(bytes).toString('utf8')) as { tdx: { quote: string } };
    return new Uint8Array(Buffer.from(json.tdx.quote, 'base64'));
  }
  if (file.endsWith('teekit-tdx-v4-azure')) return new Uint8Array(Buffer.from(Buffer.from(bytes).toString('latin1').trim(), 'base64'));
  if (file.endsWith('.binarypb')) return bytes.subarray(8, 8008);
  return bytes;
}
