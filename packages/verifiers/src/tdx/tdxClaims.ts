import type { DcapQuote, TdReportBody } from '../dcap/parseQuote.ts';
import type { PckPlatformInfo } from '../dcap/pck.ts';
import type { CcelEntry } from '../eventlog/parseCcel.ts';
import type { JsonObject } from '../verifier.ts';

/**
 * The TDX claims upstream's `generate_parsed_claim` produces (all byte fields lowercase hex):
 * `quote.{header,body}` (+ `type`/`size` for v5), decoded `td_attributes`, `report_data`,
 * `init_data` (= MRCONFIGID), `uefi_event_logs` when a CCEL was given, `platform_instance_id`
 * for Platform-CA PCK certificates.
 */

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export function tdBody(quote: DcapQuote): TdReportBody | undefined {
  return quote.body.tee === 'tdx' ? quote.body.td : undefined;
}

/** TD_ATTRIBUTES flags upstream names (bitflags over the little-endian u64). */
export function decodeTdAttributes(attributes: Uint8Array): JsonObject {
  const value = Buffer.from(attributes).readBigUInt64LE(0);
  const bit = (n: bigint): boolean => (value & (1n << n)) !== 0n;
  return { debug: bit(0n), septve_disable: bit(28n), protection_keys: bit(30n), key_locker: bit(31n), perfmon: bit(63n) };
}

export function tdxQuoteClaims(quote: DcapQuote, body: TdReportBody): JsonObject {
  const h = quote.header;
  const header: JsonObject = {
    version: hex(Uint8Array.of(h.version & 0xff, h.version >> 8)),
    att_key_type: hex(h.raw.subarray(2, 4)),
    tee_type: hex(h.raw.subarray(4, 8)),
    reserved: hex(h.reserved),
    vendor_id: hex(h.vendorId),
    user_data: hex(h.userData),
  };
  const claims: JsonObject = {
    tcb_svn: hex(body.teeTcbSvn),
    mr_seam: hex(body.mrSeam),
    mrsigner_seam: hex(body.mrSignerSeam),
    seam_attributes: hex(body.seamAttributes),
    td_attributes: hex(body.tdAttributes),
    xfam: hex(body.xfam),
    mr_td: hex(body.mrTd),
    mr_config_id: hex(body.mrConfigId),
    mr_owner: hex(body.mrOwner),
    mr_owner_config: hex(body.mrOwnerConfig),
    rtmr_0: hex(body.rtmr0),
    rtmr_1: hex(body.rtmr1),
    rtmr_2: hex(body.rtmr2),
    rtmr_3: hex(body.rtmr3),
    report_data: hex(body.reportData),
  };
  if (body.teeTcbSvn2 !== undefined && body.mrServiceTd !== undefined) {
    claims.tee_tcb_svn2 = hex(body.teeTcbSvn2);
    claims.mr_servicetd = hex(body.mrServiceTd);
  }
  const out: JsonObject = { header, body: claims };
  if (quote.v5 !== undefined) {
    out.type = hex(quote.v5.bodyTypeBytes);
    out.size = hex(quote.v5.bodySizeBytes);
  }
  return out;
}

/** Upstream's parsed TDX claims (before the DCAP supplemental claims are merged in). */
export function tdxParsedClaims(quote: DcapQuote, body: TdReportBody, eventLog: readonly CcelEntry[] | undefined, platform: PckPlatformInfo): JsonObject {
  const claims: JsonObject = {};
  if (eventLog !== undefined) claims.uefi_event_logs = eventLog.map((e) => e.json);
  claims.quote = tdxQuoteClaims(quote, body);
  claims.td_attributes = decodeTdAttributes(body.tdAttributes);
  claims.report_data = hex(body.reportData);
  claims.init_data = hex(body.mrConfigId);
  if (platform.platformInstanceId !== undefined) claims.platform_instance_id = hex(platform.platformInstanceId);
  return claims;
}
