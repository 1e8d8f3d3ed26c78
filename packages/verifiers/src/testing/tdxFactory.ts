import 'reflect-metadata';
import { createHash, KeyObject, randomBytes, sign as cryptoSign, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { staticIntelCollateral } from '../collateral/intelStatic.ts';
import { SGX_EXTENSION_OID } from '../dcap/pck.ts';
import type { CollateralSource, IntelCollateral, Json } from '../verifier.ts';
import { boolean, integer, octets, oid, seq } from './tdxDer.ts';

/**
 * Test-evidence factory for Intel DCAP: a TEST root CA → PCK CA → PCK certificate (P-256, with
 * the Intel SGX extension), a TCB signing certificate, CRLs, a quoting enclave whose attestation
 * key signs TD quotes v4/v5 over any report_data / MRCONFIGID / RTMRs and SGX quotes v3/v4 over
 * any enclave identity, matching TCB info and QE identity (TDX or SGX), and CCEL event logs with
 * consistent RTMRs. Verifiers accept these only when the returned `trustAnchors` are passed
 * explicitly.
 */

/** The instant the factory's collateral is fresh at (issueDate = a day before, nextUpdate = 30 days after). */
export const TDX_FACTORY_NOW = new Date('2030-01-01T00:00:00Z');

const subtle = webcrypto.subtle;
const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface TestCa {
  readonly cert: x509.X509Certificate;
  readonly pem: string;
  readonly keys: webcrypto.CryptoKeyPair;
  readonly privateKey: KeyObject;
  readonly serial: string;
}

export interface PckOptions {
  readonly fmspc?: string;
  readonly pceId?: string;
  readonly sgxTcbComponents?: readonly number[];
  readonly pceSvn?: number;
  readonly sgxType?: number;
  readonly ca?: 'platform' | 'processor';
}

export interface TdxQuoteOptions {
  readonly version?: 4 | 5;
  /** v5 only: 2 = TDX 1.0 body, 3 = TDX 1.5 body. */
  readonly bodyType?: 2 | 3;
  readonly reportData?: Uint8Array;
  readonly mrConfigId?: Uint8Array;
  readonly rtmrs?: readonly Uint8Array[];
  readonly teeTcbSvn?: Uint8Array;
  /** TDX 1.5 bodies only: SVNs of the TDX module now running (default zeros). */
  readonly teeTcbSvn2?: Uint8Array;
  readonly tdAttributes?: Uint8Array;
  readonly mrSignerSeam?: Uint8Array;
  readonly seamAttributes?: Uint8Array;
  readonly mrTd?: Uint8Array;
  readonly qeIsvSvn?: number;
  /** Bytes appended after the quote (some providers pad quotes to 8000 bytes). */
  readonly padding?: number;
}

export interface SgxQuoteOptions {
  readonly version?: 3 | 4;
  readonly reportData?: Uint8Array;
  readonly configId?: Uint8Array;
  readonly mrEnclave?: Uint8Array;
  readonly mrSigner?: Uint8Array;
  readonly isvProdId?: number;
  readonly isvSvn?: number;
  /** flags ‖ xfrm (16 bytes); default: initialised, 64-bit mode, not debug. */
  readonly attributes?: Uint8Array;
  readonly cpuSvn?: Uint8Array;
  readonly qeIsvSvn?: number;
}

export interface TcbLevelSpec {
  readonly sgx: readonly number[];
  readonly pceSvn: number;
  readonly tdx: readonly number[];
  readonly status: string;
  readonly date?: string;
  readonly advisoryIds?: readonly string[];
}

export interface CollateralOptions {
  readonly now?: Date;
  /** Which TEE the TCB info and QE identity are for (ids TDX/TD_QE or SGX/QE); default tdx. */
  readonly tee?: 'tdx' | 'sgx';
  readonly tcbLevels?: readonly TcbLevelSpec[];
  readonly moduleLevels?: ReadonlyArray<{ isvsvn: number; status: string; advisoryIds?: readonly string[] }>;
  readonly qeLevels?: ReadonlyArray<{ isvsvn: number; status: string; advisoryIds?: readonly string[] }>;
  readonly tcbInfoId?: string;
  readonly qeIdentityId?: string;
  readonly fmspc?: string;
  /** Revoke the PCK leaf in the PCK CRL / the PCK CA in the root CRL. */
  readonly revokePck?: boolean;
  readonly revokePckCa?: boolean;
}

export const DEFAULT_SGX_COMPONENTS = [3, 3, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0];
export const DEFAULT_TEE_TCB_SVN = Uint8Array.from([3, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
const QE_MRSIGNER = createHash('sha256').update('trustee-ts test quoting enclave signer').digest();
const QE_ATTRIBUTES = Buffer.from('11000000000000000000000000000000', 'hex');
/** ISVPRODID of Intel's TD quoting enclave and of its SGX quoting enclave. */
const QE_ISVPRODID_TD = 2;
const QE_ISVPRODID_SGX = 1;

function pemOf(cert: x509.X509Certificate): string {
  return cert.toString('pem');
}

async function keyPair(): Promise<webcrypto.CryptoKeyPair> {
  return (await subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

function serialHex(): string {
  const b = randomBytes(16);
  b[0] = ((b[0] as number) & 0x7f) | 0x01;
  return b.toString('hex');
}

async function createCa(name: string, issuer: TestCa | undefined, extensions: x509.Extension[], validity: { notBefore: Date; notAfter: Date }): Promise<TestCa> {
  const keys = await keyPair();
  const serial = serialHex();
  const cert = issuer === undefined
    ? await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: serial, name, keys, signingAlgorithm: SIGN, extensions, ...validity })
    : await x509.X509CertificateGenerator.create({
        serialNumber: serial,
        subject: name,
        issuer: issuer.cert.subject,
        publicKey: keys.publicKey,
        signingKey: issuer.keys.privateKey,
        signingAlgorithm: SIGN,
        extensions,
        ...validity,
      });
  return { cert, pem: pemOf(cert), keys, privateKey: KeyObject.from(keys.privateKey), serial };
}

function sgxExtension(options: Required<PckOptions>, ppid: Uint8Array, instanceId: Uint8Array): Uint8Array {
  const arc = (suffix: string): Uint8Array => oid(`${SGX_EXTENSION_OID}.${suffix}`);
  const tcb = seq(
    ...options.sgxTcbComponents.map((svn, i) => seq(arc(`2.${i + 1}`), integer(svn))),
    seq(arc('2.17'), integer(options.pceSvn)),
    seq(arc('2.18'), octets(new Uint8Array(16).fill(1))),
  );
  const entries = [
    seq(arc('1'), octets(ppid)),
    seq(arc('2'), tcb),
    seq(arc('3'), octets(Buffer.from(options.pceId, 'hex'))),
    seq(arc('4'), octets(Buffer.from(options.fmspc, 'hex'))),
    seq(arc('5'), integer(options.sgxType, 0x0a)),
  ];
  if (options.ca === 'platform') {
    entries.push(seq(arc('6'), octets(instanceId)));
    entries.push(seq(arc('7'), seq(seq(arc('7.1'), boolean(false)), seq(arc('7.2'), boolean(true)), seq(arc('7.3'), boolean(true)))));
  }
  return seq(...entries);
}

function signP256Raw(data: Uint8Array, key: KeyObject): Uint8Array {
  return cryptoSign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
}

function le16(n: number): Uint8Array {
  return Uint8Array.of(n & 0xff, (n >> 8) & 0xff);
}

function le32(n: number): Uint8Array {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

function fixed(value: Uint8Array | undefined, length: number): Uint8Array {
  const out = new Uint8Array(length);
  if (value !== undefined) out.set(value.subarray(0, length));
  return out;
}

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface TdxTestPlatform {
  readonly root: TestCa;
  readonly pckCa: TestCa;
  readonly tcbSigning: TestCa;
  readonly pckCertPem: string;
  readonly pckSerial: string;
  readonly pck: Required<PckOptions>;
  readonly ppid: Uint8Array;
  readonly platformInstanceId: Uint8Array;
  /** SHA-256 fingerprints to pass as `trustAnchors`. */
  readonly trustAnchors: readonly string[];
  /** The PCK chain as carried in quotes: leaf, PCK CA, root. */
  readonly pckChainPem: string;
  quote(options?: TdxQuoteOptions): Uint8Array;
  /** An SGX quote (v3 by default) by the same quoting enclave and PCK chain. */
  sgxQuote(options?: SgxQuoteOptions): Uint8Array;
  collateral(options?: CollateralOptions): Promise<IntelCollateral>;
  collateralSource(options?: CollateralOptions): Promise<CollateralSource>;
  /**
   * TDX and SGX collateral together as an Intel PcsClientTool file (what upstream's
   * `dcap_verifier.collateral_service = "file://..."` reads).
   */
  pcsClientToolFile(options?: Omit<CollateralOptions, 'tee'>): Promise<Json>;
}

/** TDX evidence JSON (`{"quote", "cc_eventlog"}`) for a quote and an optional event log. */
export function tdxEvidence(quote: Uint8Array, ccel?: Uint8Array): Json {
  return { quote: Buffer.from(quote).toString('base64'), cc_eventlog: ccel === undefined ? null : Buffer.from(ccel).toString('base64') };
}

/** SGX evidence JSON as guest-components' sgx_dcap attester sends it: `{"quote": "<std b64>"}`. */
export function sgxEvidence(quote: Uint8Array): Json {
  return { quote: Buffer.from(quote).toString('base64') };
}

/**
 * Creates a test PKI and platform. All keys are fresh per call.
 *
 * @example
 * const platform = await createTdxTestPlatform();
 * const evidence = tdxEvidence(platform.quote({ reportData }));
 * await createTdxVerifier({ trustAnchors: platform.trustAnchors }).evaluate(evidence, expected, { now: () => TDX_FACTORY_NOW, collateral: await platform.collateralSource() });
 */
export async function createTdxTestPlatform(options: PckOptions = {}): Promise<TdxTestPlatform> {
  const pck: Required<PckOptions> = {
    fmspc: options.fmspc ?? 'B0C06F000000',
    pceId: options.pceId ?? '0000',
    sgxTcbComponents: options.sgxTcbComponents ?? DEFAULT_SGX_COMPONENTS,
    pceSvn: options.pceSvn ?? 11,
    sgxType: options.sgxType ?? 1,
    ca: options.ca ?? 'platform',
  };
  const validity = { notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2040-01-01T00:00:00Z') };
  const caExt = [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)];
  const root = await createCa('CN=Test SGX Root CA,O=trustee-ts tests', undefined, [new x509.BasicConstraintsExtension(true, 1, true), caExt[1] as x509.Extension], validity);
  const pckCa = await createCa(`CN=Test SGX PCK ${pck.ca === 'platform' ? 'Platform' : 'Processor'} CA,O=trustee-ts tests`, root, caExt, validity);
  const tcbSigning = await createCa('CN=Test SGX TCB Signing,O=trustee-ts tests', root, [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)], validity);

  const ppid = randomBytes(16);
  const platformInstanceId = randomBytes(16);
  const leafKeys = await keyPair();
  const pckSerial = serialHex();
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: pckSerial,
    subject: 'CN=Test SGX PCK Certificate,O=trustee-ts tests',
    issuer: pckCa.cert.subject,
    publicKey: leafKeys.publicKey,
    signingKey: pckCa.keys.privateKey,
    signingAlgorithm: SIGN,
    extensions: [new x509.Extension(SGX_EXTENSION_OID, false, sgxExtension(pck, ppid, platformInstanceId))],
    ...validity,
  });
  const pckKey = KeyObject.from(leafKeys.privateKey);
  const pckCertPem = pemOf(leaf);
  const pckChainPem = `${pckCertPem}\n${pckCa.pem}\n${root.pem}\n`;

  // The quoting enclave's attestation key and authentication data are fixed per platform.
  const attestation = await keyPair();
  const attestationKey = KeyObject.from(attestation.privateKey);
  const jwk = KeyObject.from(attestation.publicKey).export({ format: 'jwk' });
  const attestationPub = Buffer.concat([Buffer.from(jwk.x as string, 'base64url'), Buffer.from(jwk.y as string, 'base64url')]);
  const qeAuthData = Uint8Array.from({ length: 32 }, (_, i) => i);

  function qeReport(isvSvn: number, isvProdId: number): Uint8Array {
    const report = new Uint8Array(384);
    report.set(QE_ATTRIBUTES, 48);
    report.set(QE_MRSIGNER, 128);
    report.set(le16(isvProdId), 256);
    report.set(le16(isvSvn), 258);
    report.set(createHash('sha256').update(attestationPub).update(qeAuthData).digest(), 320);
    return report;
  }

  function quote(q: TdxQuoteOptions = {}): Uint8Array {
    const version = q.version ?? 4;
    const bodyType = version === 5 ? (q.bodyType ?? 3) : 2;
    const header = Buffer.concat([
      le16(version), le16(2), le32(0x81), new Uint8Array(4),
      Buffer.from('939a7233f79c4ca9940a0db3957f0607', 'hex'), new Uint8Array(20).fill(0xab),
    ]);
    const rtmrs = q.rtmrs ?? [];
    const bodyParts = [
      fixed(q.teeTcbSvn ?? DEFAULT_TEE_TCB_SVN, 16),
      fixed(createHash('sha384').update('mr_seam').digest(), 48),
      fixed(q.mrSignerSeam, 48),
      fixed(q.seamAttributes, 8),
      fixed(q.tdAttributes ?? Uint8Array.of(0, 0, 0, 0x10, 0, 0, 0, 0), 8),
      Uint8Array.of(0xe7, 0x02, 0x06, 0, 0, 0, 0, 0),
      fixed(q.mrTd ?? createHash('sha384').update('mr_td').digest(), 48),
      fixed(q.mrConfigId, 48),
      new Uint8Array(48),
      new Uint8Array(48),
      fixed(rtmrs[0], 48), fixed(rtmrs[1], 48), fixed(rtmrs[2], 48), fixed(rtmrs[3], 48),
      fixed(q.reportData, 64),
    ];
    if (bodyType === 3) bodyParts.push(fixed(q.teeTcbSvn2, 16), fixed(createHash('sha384').update('mr_servicetd').digest(), 48));
    const body = Buffer.concat(bodyParts);
    const descriptor = version === 5 ? Buffer.concat([le16(bodyType), le32(body.length)]) : Buffer.alloc(0);
    const signed = Buffer.concat([header, descriptor, body]);
    return new Uint8Array(Buffer.concat([signed, signatureData(signed, q.qeIsvSvn ?? 4, QE_ISVPRODID_TD, true), new Uint8Array(q.padding ?? 0)]));
  }

  /** Length-prefixed signature data: quote signature, attestation key, QE report, its signature, auth data, PCK chain. */
  function signatureData(signed: Uint8Array, qeIsvSvn: number, qeIsvProdId: number, wrapped: boolean): Uint8Array {
    const signature = signP256Raw(signed, attestationKey);
    const report = qeReport(qeIsvSvn, qeIsvProdId);
    const chain = Buffer.from(pckChainPem, 'latin1');
    const qeCertData = Buffer.concat([report, signP256Raw(report, pckKey), le16(qeAuthData.length), qeAuthData, le16(5), le32(chain.length), chain]);
    // v4+ wrap the QE report in certification data of type 6; SGX v3 carries it directly
    const sigData = Buffer.concat([signature, attestationPub, ...(wrapped ? [le16(6), le32(qeCertData.length)] : []), qeCertData]);
    return Buffer.concat([le32(sigData.length), sigData]);
  }

  function sgxQuote(q: SgxQuoteOptions = {}): Uint8Array {
    const version = q.version ?? 3;
    const qeIsvSvn = q.qeIsvSvn ?? 4;
    const header = Buffer.concat([
      le16(version), le16(2), le32(0), le16(qeIsvSvn), le16(pck.pceSvn),
      Buffer.from('939a7233f79c4ca9940a0db3957f0607', 'hex'), new Uint8Array(20).fill(0xcd),
    ]);
    const body = new Uint8Array(384);
    body.set(fixed(q.cpuSvn ?? Uint8Array.from(pck.sgxTcbComponents), 16), 0);
    body.set(fixed(q.attributes ?? Buffer.from('0500000000000000e700000000000000', 'hex'), 16), 48);
    body.set(fixed(q.mrEnclave ?? createHash('sha256').update('mr_enclave').digest(), 32), 64);
    body.set(fixed(q.mrSigner ?? createHash('sha256').update('mr_signer').digest(), 32), 128);
    body.set(fixed(q.configId, 64), 192);
    body.set(le16(q.isvProdId ?? 7), 256);
    body.set(le16(q.isvSvn ?? 1), 258);
    body.set(fixed(q.reportData, 64), 320);
    const signed = Buffer.concat([header, body]);
    return new Uint8Array(Buffer.concat([signed, signatureData(signed, qeIsvSvn, QE_ISVPRODID_SGX, version !== 3)]));
  }

  async function collateral(c: CollateralOptions = {}): Promise<IntelCollateral> {
    const now = c.now ?? TDX_FACTORY_NOW;
    const issueDate = new Date(now.getTime() - 86_400_000);
    const nextUpdate = new Date(now.getTime() + 30 * 86_400_000);
    const level = (l: TcbLevelSpec): Json => ({
      tcb: { sgxtcbcomponents: l.sgx.map((svn) => ({ svn })), pcesvn: l.pceSvn, ...(sgx ? {} : { tdxtcbcomponents: l.tdx.map((svn) => ({ svn })) }) },
      tcbDate: l.date ?? '2024-03-13T00:00:00Z',
      tcbStatus: l.status,
      ...(l.advisoryIds === undefined ? {} : { advisoryIDs: [...l.advisoryIds] }),
    });
    const isv = (l: { isvsvn: number; status: string; advisoryIds?: readonly string[] }): Json => ({
      tcb: { isvsvn: l.isvsvn },
      tcbDate: '2024-03-13T00:00:00Z',
      tcbStatus: l.status,
      ...(l.advisoryIds === undefined ? {} : { advisoryIDs: [...l.advisoryIds] }),
    });
    const sgx = c.tee === 'sgx';
    const tdxComponents = [0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const tcbLevels = c.tcbLevels ?? [
      { sgx: pck.sgxTcbComponents, pceSvn: pck.pceSvn, tdx: tdxComponents, status: 'UpToDate' },
      { sgx: pck.sgxTcbComponents.map((s) => Math.max(0, s - 1)), pceSvn: pck.pceSvn, tdx: tdxComponents, status: 'OutOfDate', date: '2023-08-09T00:00:00Z', advisoryIds: ['INTEL-SA-00837'] },
    ];
    const zero48 = '0'.repeat(96);
    const tdxParts = {
      tdxModule: { mrsigner: zero48, attributes: '0000000000000000', attributesMask: 'FFFFFFFFFFFFFFFF' },
      tdxModuleIdentities: [
        {
          id: 'TDX_01',
          mrsigner: zero48,
          attributes: '0000000000000000',
          attributesMask: 'FFFFFFFFFFFFFFFF',
          tcbLevels: (c.moduleLevels ?? [{ isvsvn: 3, status: 'UpToDate' }, { isvsvn: 0, status: 'OutOfDate', advisoryIds: ['INTEL-SA-00960'] }]).map(isv),
        },
      ],
    };
    const tcbInfo = JSON.stringify({
      id: c.tcbInfoId ?? (sgx ? 'SGX' : 'TDX'),
      version: 3,
      issueDate: rfc3339(issueDate),
      nextUpdate: rfc3339(nextUpdate),
      fmspc: c.fmspc ?? pck.fmspc,
      pceId: pck.pceId,
      tcbType: 0,
      tcbEvaluationDataNumber: 17,
      ...(sgx ? {} : tdxParts),
      tcbLevels: tcbLevels.map(level),
    });
    const qeIdentity = JSON.stringify({
      id: c.qeIdentityId ?? (sgx ? 'QE' : 'TD_QE'),
      version: 2,
      issueDate: rfc3339(issueDate),
      nextUpdate: rfc3339(nextUpdate),
      tcbEvaluationDataNumber: 17,
      miscselect: '00000000',
      miscselectMask: 'FFFFFFFF',
      attributes: QE_ATTRIBUTES.toString('hex').toUpperCase(),
      attributesMask: 'FBFFFFFFFFFFFFFF0000000000000000',
      mrsigner: QE_MRSIGNER.toString('hex').toUpperCase(),
      isvprodid: sgx ? QE_ISVPRODID_SGX : QE_ISVPRODID_TD,
      tcbLevels: (c.qeLevels ?? [{ isvsvn: 4, status: 'UpToDate' }, { isvsvn: 0, status: 'OutOfDate' }]).map(isv),
    });
    const signJson = (text: string): string => Buffer.from(signP256Raw(Buffer.from(text, 'utf8'), tcbSigning.privateKey)).toString('hex');
    const crl = async (issuer: TestCa, revoked: string[], number: number): Promise<Uint8Array> => {
      const generated = await x509.X509CrlGenerator.create({
        issuer: issuer.cert.subject,
        thisUpdate: issueDate,
        nextUpdate,
        entries: revoked.map((serialNumber) => ({ serialNumber, revocationDate: issueDate })),
        extensions: [new x509.Extension('2.5.29.20', false, integer(number))],
        signingKey: issuer.keys.privateKey,
        signingAlgorithm: SIGN,
      });
      return new Uint8Array(generated.rawData);
    };
    const chain = `${tcbSigning.pem}\n${root.pem}\n`;
    return {
      tcbInfoIssuerChain: chain,
      tcbInfo: `{"tcbInfo":${tcbInfo},"signature":"${signJson(tcbInfo)}"}`,
      qeIdentityIssuerChain: chain,
      qeIdentity: `{"enclaveIdentity":${qeIdentity},"signature":"${signJson(qeIdentity)}"}`,
      pckCrlIssuerChain: `${pckCa.pem}\n${root.pem}\n`,
      rootCaCrl: await crl(root, c.revokePckCa === true ? [pckCa.serial] : [], 3),
      pckCrl: await crl(pckCa, c.revokePck === true ? [pckSerial] : [randomBytes(8).toString('hex')], 7),
    };
  }

  return {
    root,
    pckCa,
    tcbSigning,
    pckCertPem,
    pckSerial,
    pck,
    ppid,
    platformInstanceId,
    trustAnchors: [createHash('sha256').update(Buffer.from(root.cert.rawData)).digest('hex')],
    pckChainPem,
    quote,
    sgxQuote,
    collateral,
    async collateralSource(c?: CollateralOptions) {
      return staticIntelCollateral([await collateral(c)]);
    },
    async pcsClientToolFile(c = {}) {
      const tdx = await collateral({ ...c, tee: 'tdx' });
      const sgx = await collateral({ ...c, tee: 'sgx' });
      const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
      const pckChain = encodeURIComponent(tdx.pckCrlIssuerChain);
      return {
        collaterals: {
          tcbinfos: [{ fmspc: pck.fmspc, sgx_tcbinfo: JSON.parse(sgx.tcbInfo) as Json, tdx_tcbinfo: JSON.parse(tdx.tcbInfo) as Json }],
          pckcacrl: { processorCrl: hex(tdx.pckCrl), platformCrl: hex(tdx.pckCrl) },
          qeidentity: JSON.parse(sgx.qeIdentity) as Json,
          tdqeidentity: JSON.parse(tdx.qeIdentity) as Json,
          certificates: {
            'TCB-Info-Issuer-Chain': encodeURIComponent(tdx.tcbInfoIssuerChain),
            'SGX-Enclave-Identity-Issuer-Chain': encodeURIComponent(tdx.qeIdentityIssuerChain),
            'SGX-PCK-Certificate-Issuer-Chain': { PROCESSOR: pckChain, PLATFORM: pckChain },
          },
          rootcacrl: hex(tdx.rootCaCrl),
        },
      };
    },
  };
}

/** Extends a 48-byte register with SHA-384 (the TDX RTMR extend operation). */
export function extendRtmr(register: Uint8Array, digest: Uint8Array): Uint8Array {
  return createHash('sha384').update(register).update(digest).digest();
}

export interface TestCcelEvent {
  /** CC MR index: 1..4 = RTMR0..3. */
  readonly index: number;
  /** TCG event type (default EV_EVENT_TAG-free EV_ACTION = 5). */
  readonly type?: number;
  readonly data: Uint8Array;
  /** Digest to record; defaults to SHA-384(data). */
  readonly digest?: Uint8Array;
}

/**
 * Builds a CCEL (Spec ID event with SHA-384, then TCG_PCR_EVENT2 entries, then an all-ones
 * terminator) and the RTMR values it replays to.
 */
export function buildTestCcel(events: readonly TestCcelEvent[], padding = 64): { ccel: Uint8Array; rtmrs: Uint8Array[] } {
  const specData = Buffer.concat([Buffer.from('Spec ID Event03\0', 'latin1'), le32(0), Uint8Array.of(0, 2, 0, 2), le32(1), le16(0x0c), le16(48), Uint8Array.of(0)]);
  const parts: Uint8Array[] = [le32(0), le32(3), new Uint8Array(20), le32(specData.length), specData];
  const rtmrs = [0, 1, 2, 3].map(() => new Uint8Array(48) as Uint8Array);
  for (const event of events) {
    const digest = event.digest ?? createHash('sha384').update(event.data).digest();
    parts.push(le32(event.index), le32(event.type ?? 5), le32(1), le16(0x0c), digest, le32(event.data.length), event.data);
    if (event.index >= 1 && event.index <= 4) rtmrs[event.index - 1] = extendRtmr(rtmrs[event.index - 1] as Uint8Array, digest);
  }
  parts.push(new Uint8Array(8).fill(0xff), new Uint8Array(padding).fill(0xff));
  return { ccel: new Uint8Array(Buffer.concat(parts)), rtmrs };
}
