import type { QuoteHeader, SgxReportBody } from '../dcap/parseQuote.ts';
import type { PckPlatformInfo } from '../dcap/pck.ts';
import { toHex } from '../binary/encoding.ts';
import type { JsonObject } from '../verifier.ts';

/**
 * The SGX claims upstream's `generate_parsed_claims` produces (deps/verifier/src/sgx/claims.rs):
 * `header` and `body` with every quote field as lowercase hex of its bytes as they sit in the
 * quote (little-endian integers included), `report_data`, `init_data` (= CONFIGID) and, for
 * Platform-CA PCK certificates, `platform_instance_id`. The DCAP supplemental claims
 * (`tcb_status`, `advisory_ids`, ...) are merged in by the verifier.
 */
export function sgxParsedClaims(header: QuoteHeader, body: SgxReportBody, platform: PckPlatformInfo): JsonObject {
  const raw = body.raw;
  const claims: JsonObject = {
    header: {
      version: toHex(header.raw.subarray(0, 2)),
      att_key_type: toHex(header.raw.subarray(2, 4)),
      // SGX quotes carry att_key_data_0 where TDX quotes carry tee_type (upstream keeps its name)
      att_key_data_0: toHex(header.raw.subarray(4, 8)),
      qe_svn: toHex(header.reserved.subarray(0, 2)),
      pce_svn: toHex(header.reserved.subarray(2, 4)),
      vendor_id: toHex(header.vendorId),
      user_data: toHex(header.userData),
    },
    body: {
      cpu_svn: toHex(body.cpuSvn),
      misc_select: toHex(body.miscSelectBytes),
      reserved1: toHex(body.reserved1),
      isv_ext_prod_id: toHex(body.isvExtProdId),
      'attributes.flags': toHex(body.attributes.subarray(0, 8)),
      'attributes.xfrm': toHex(body.attributes.subarray(8, 16)),
      mr_enclave: toHex(body.mrEnclave),
      reserved2: toHex(body.reserved2),
      mr_signer: toHex(body.mrSigner),
      reserved3: toHex(body.reserved3),
      config_id: toHex(body.configId),
      isv_prod_id: toHex(raw.subarray(256, 258)),
      isv_svn: toHex(raw.subarray(258, 260)),
      config_svn: toHex(raw.subarray(260, 262)),
      reserved4: toHex(body.reserved4),
      isv_family_id: toHex(body.isvFamilyId),
      report_data: toHex(body.reportData),
    },
    report_data: toHex(body.reportData),
    init_data: toHex(body.configId),
  };
  if (platform.platformInstanceId !== undefined) claims.platform_instance_id = toHex(platform.platformInstanceId);
  return claims;
}
