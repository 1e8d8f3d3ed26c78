import { VerificationError } from '../verificationError.ts';
import {
  DER_BOOLEAN, DER_OCTET_STRING, DER_SEQUENCE, derChildren, derOid, derSmallInt, expectTag, parseDer, type DerNode,
} from './der.ts';
import type { ParsedCertificate } from './x509.ts';

/** Intel SGX extension (`1.2.840.113741.1.13.1`) of a PCK certificate. */
export const SGX_EXTENSION_OID = '1.2.840.113741.1.13.1';

export interface PckPlatformInfo {
  readonly ppid: Uint8Array;
  /** The 16 SGX TCB component SVNs. */
  readonly sgxTcbComponents: readonly number[];
  readonly pceSvn: number;
  readonly cpuSvn: Uint8Array;
  /** PCE-ID, 4 uppercase hex chars. */
  readonly pceId: string;
  /** FMSPC, 12 uppercase hex chars. */
  readonly fmspc: string;
  /** 0 Standard, 1 Scalable, 2 Scalable with Integrity. */
  readonly sgxType: number;
  /** Platform-CA certificates only. */
  readonly platformInstanceId?: Uint8Array;
  readonly dynamicPlatform?: boolean;
  readonly cachedKeys?: boolean;
  readonly smtEnabled?: boolean;
  /** From the intermediate's common name. */
  readonly ca: 'processor' | 'platform';
}

function malformed(check: string, message: string): VerificationError {
  return VerificationError.single('malformed_evidence', `dcap.pck.${check}`, message);
}

function octets(node: DerNode | undefined, length: number | undefined, what: string): Uint8Array {
  const n = expectTag(node, DER_OCTET_STRING, `dcap.pck.${what}`);
  if (length !== undefined && n.value.length !== length) throw malformed(what, `expected ${length} bytes, found ${n.value.length}`);
  return n.value;
}

/** The CA type of a PCK chain from its intermediate's common name. */
export function pckCaType(intermediate: ParsedCertificate): 'processor' | 'platform' {
  if (intermediate.commonName.includes('Platform')) return 'platform';
  if (intermediate.commonName.includes('Processor')) return 'processor';
  throw malformed('ca', `unknown PCK intermediate CA ${JSON.stringify(intermediate.commonName)}`);
}

/**
 * Reads FMSPC, TCB components, PCESVN, CPUSVN, PCE-ID, SGX type and (Platform CA only) the
 * platform instance id and configuration out of the PCK leaf's SGX extension.
 */
export function parsePckPlatformInfo(leaf: ParsedCertificate, intermediate: ParsedCertificate): PckPlatformInfo {
  const ext = leaf.extensions.get(SGX_EXTENSION_OID);
  if (ext === undefined) throw malformed('sgx_extension', 'PCK certificate has no SGX extension');
  const root = expectTag(parseDer(ext.value, 'dcap.pck.sgx_extension'), DER_SEQUENCE, 'dcap.pck.sgx_extension');
  const values = new Map<string, DerNode>();
  for (const entry of derChildren(root, 'dcap.pck.sgx_extension')) {
    const [oidNode, valueNode] = derChildren(expectTag(entry, DER_SEQUENCE, 'dcap.pck.sgx_extension'), 'dcap.pck.sgx_extension');
    const oid = derOid(expectTag(oidNode, 0x06, 'dcap.pck.sgx_extension.oid'), 'dcap.pck.sgx_extension.oid');
    if (valueNode === undefined) throw malformed('sgx_extension', `no value for ${oid}`);
    values.set(oid, valueNode);
  }
  const get = (suffix: string): DerNode | undefined => values.get(`${SGX_EXTENSION_OID}.${suffix}`);

  const tcbNode = expectTag(get('2'), DER_SEQUENCE, 'dcap.pck.tcb');
  const tcb = new Map<string, DerNode>();
  for (const entry of derChildren(tcbNode, 'dcap.pck.tcb')) {
    const [oidNode, valueNode] = derChildren(expectTag(entry, DER_SEQUENCE, 'dcap.pck.tcb'), 'dcap.pck.tcb');
    const oid = derOid(expectTag(oidNode, 0x06, 'dcap.pck.tcb.oid'), 'dcap.pck.tcb.oid');
    if (valueNode === undefined) throw malformed('tcb', `no value for ${oid}`);
    tcb.set(oid, valueNode);
  }
  const tcbValue = (n: number): DerNode => {
    const node = tcb.get(`${SGX_EXTENSION_OID}.2.${n}`);
    if (node === undefined) throw malformed('tcb', `missing TCB component ${n}`);
    return node;
  };
  const sgxTcbComponents: number[] = [];
  for (let n = 1; n <= 16; n++) sgxTcbComponents.push(derSmallInt(tcbValue(n), `dcap.pck.tcb.comp${n}`));
  const pceSvn = derSmallInt(tcbValue(17), 'dcap.pck.tcb.pcesvn');
  const cpuSvn = octets(tcbValue(18), 16, 'tcb.cpusvn');

  const sgxTypeNode = get('5');
  if (sgxTypeNode === undefined) throw malformed('sgx_type', 'missing SGX type');
  const info: PckPlatformInfo = {
    ppid: octets(get('1'), 16, 'ppid'),
    sgxTcbComponents,
    pceSvn,
    cpuSvn,
    pceId: Buffer.from(octets(get('3'), 2, 'pceid')).toString('hex').toUpperCase(),
    fmspc: Buffer.from(octets(get('4'), 6, 'fmspc')).toString('hex').toUpperCase(),
    sgxType: derSmallInt(sgxTypeNode, 'dcap.pck.sgx_type'),
    ca: pckCaType(intermediate),
  };
  const instance = get('6');
  const configNode = get('7');
  if (info.ca === 'processor') {
    if (instance !== undefined || configNode !== undefined) throw malformed('platform_instance_id', 'a Processor-CA PCK certificate carries platform instance data');
    return info;
  }
  if (instance === undefined || configNode === undefined) throw malformed('platform_instance_id', 'a Platform-CA PCK certificate lacks the platform instance id or configuration');
  const config = new Map<string, boolean>();
  for (const entry of derChildren(expectTag(configNode, DER_SEQUENCE, 'dcap.pck.configuration'), 'dcap.pck.configuration')) {
    const [oidNode, valueNode] = derChildren(expectTag(entry, DER_SEQUENCE, 'dcap.pck.configuration'), 'dcap.pck.configuration');
    const oid = derOid(expectTag(oidNode, 0x06, 'dcap.pck.configuration.oid'), 'dcap.pck.configuration.oid');
    const flag = expectTag(valueNode, DER_BOOLEAN, 'dcap.pck.configuration.value');
    config.set(oid, flag.value[0] !== 0);
  }
  const flag = (n: number): boolean => {
    const value = config.get(`${SGX_EXTENSION_OID}.7.${n}`);
    if (value === undefined) throw malformed('configuration', `missing configuration flag ${n}`);
    return value;
  };
  // upstream reads the id as a little-endian u128 and prints it big-endian: the bytes reversed
  const platformInstanceId = Uint8Array.from(octets(instance, 16, 'platform_instance_id')).reverse();
  return { ...info, platformInstanceId, dynamicPlatform: flag(1), cachedKeys: flag(2), smtEnabled: flag(3) };
}
