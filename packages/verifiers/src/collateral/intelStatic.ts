import { parsePemChain } from '../dcap/x509.ts';
import { topLevelMembers } from '../dcap/signedJson.ts';
import { VerificationError } from '../verificationError.ts';
import type { CollateralSource, IntelCollateral, IntelCollateralRequest } from '../verifier.ts';

/** What a bundle is for: TEE, FMSPC and PCK CA type, read from its own content. */
export interface IntelBundleKey {
  readonly tee: 'tdx' | 'sgx';
  readonly fmspc: string;
  readonly pckCa: 'processor' | 'platform' | undefined;
}

/** Reads the TEE and FMSPC from the TCB info and the CA type from the PCK CRL issuer. */
export function intelBundleKey(collateral: IntelCollateral): IntelBundleKey {
  try {
    return bundleKey(collateral);
  } catch (error) {
    const message = error instanceof VerificationError ? error.message : (error as Error).message;
    throw VerificationError.single('collateral_unavailable', 'collateral.intel.bundle', `unreadable collateral bundle: ${message}`);
  }
}

function bundleKey(collateral: IntelCollateral): IntelBundleKey {
  const members = topLevelMembers(collateral.tcbInfo, 'collateral.intel.tcb_info');
  const info = JSON.parse(members.get('tcbInfo') ?? 'null') as { id?: unknown; fmspc?: unknown } | null;
  if (info === null || typeof info.fmspc !== 'string') {
    throw VerificationError.single('collateral_unavailable', 'collateral.intel.bundle', 'TCB info has no FMSPC');
  }
  const issuer = parsePemChain(collateral.pckCrlIssuerChain, 'collateral.intel.pck_crl_issuer_chain')[0];
  const cn = issuer?.commonName ?? '';
  return {
    tee: info.id === 'SGX' ? 'sgx' : 'tdx',
    fmspc: info.fmspc.toUpperCase(),
    pckCa: cn.includes('Platform') ? 'platform' : cn.includes('Processor') ? 'processor' : undefined,
  };
}

/**
 * A collateral source over fixed bundles (offline mode, CLI `--collateral`, tests). The bundle
 * whose TCB info FMSPC/TEE and PCK CRL issuer match the request is returned.
 */
export function staticIntelCollateral(bundles: readonly IntelCollateral[]): CollateralSource {
  const keyed = bundles.map((bundle) => ({ bundle, key: intelBundleKey(bundle) }));
  return {
    getIntelCollateral(request: IntelCollateralRequest): Promise<IntelCollateral> {
      const match = keyed.find(
        ({ key }) => key.tee === request.tee && key.fmspc === request.fmspc.toUpperCase() && (key.pckCa === undefined || key.pckCa === request.pckCa),
      );
      if (match === undefined) {
        return Promise.reject(
          VerificationError.single(
            'collateral_unavailable',
            'collateral.intel',
            'no offline collateral bundle for this platform',
            `${request.tee} FMSPC ${request.fmspc} (${request.pckCa} CA)`,
            keyed.map(({ key }) => `${key.tee} ${key.fmspc} (${key.pckCa ?? '?'})`).join(', ') || 'none',
          ),
        );
      }
      return Promise.resolve(match.bundle);
    },
  };
}
