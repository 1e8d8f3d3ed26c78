/**
 * Test-only revocation collateral for the NVIDIA-style test PKI (testing/nvidiaFactory.ts):
 * RFC 6960 OCSP responses built with @peculiar/asn1-ocsp and signed with node:crypto by the
 * issuing test CA (or a delegated responder it certified for OCSP signing), RFC 5280 CRLs from
 * @peculiar/x509, and a local OCSP responder speaking HTTP POST `application/ocsp-request`.
 */
import 'reflect-metadata';
import { createHash, KeyObject, sign as cryptoSign, webcrypto } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import * as x509 from '@peculiar/x509';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  BasicOCSPResponse,
  CertID,
  CertStatus,
  id_kp_OCSPSigning,
  id_pkix_ocsp_basic,
  OCSPRequest,
  OCSPResponse,
  OCSPResponseStatus,
  ResponderID,
  ResponseBytes,
  ResponseData,
  RevokedInfo,
  SingleResponse,
} from '@peculiar/asn1-ocsp';
import { AlgorithmIdentifier, Certificate, CRLReason, CRLReasons, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const P384 = { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' };
const ECDSA_SHA384 = '1.2.840.10045.4.3.3';
const HASH_OIDS = { sha1: '1.3.14.3.2.26', sha256: '2.16.840.1.101.3.4.2.1', sha384: '2.16.840.1.101.3.4.2.2' } as const;

/** A CA of the test chain: its certificate and key pair. */
export interface TestIssuer {
  readonly der: Uint8Array;
  readonly keys: webcrypto.CryptoKeyPair;
}

export type TestCertStatus = 'good' | 'revoked' | 'unknown';

export interface TestOcspOptions {
  readonly issuer: TestIssuer;
  /** The certificates answered for (one SingleResponse each), with their statuses. */
  readonly answers: ReadonlyArray<{ readonly certificate: Uint8Array; readonly status: TestCertStatus }>;
  readonly thisUpdate: Date;
  /** Omitted: no nextUpdate. */
  readonly nextUpdate?: Date;
  /** Signs instead of the issuer (a delegated responder; include its certificate). */
  readonly signer?: TestIssuer;
  readonly certIdHash?: keyof typeof HASH_OIDS;
}

function keyBits(der: Uint8Array): ArrayBuffer {
  const cert = AsnConvert.parse(der, Certificate);
  return AsnConvert.parse(AsnConvert.serialize(cert.tbsCertificate.subjectPublicKeyInfo), SubjectPublicKeyInfo).subjectPublicKey;
}

function certId(certificate: Uint8Array, issuer: Uint8Array, hash: keyof typeof HASH_OIDS): CertID {
  const issuerCert = AsnConvert.parse(issuer, Certificate);
  const cert = AsnConvert.parse(certificate, Certificate);
  return new CertID({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: HASH_OIDS[hash], parameters: null }),
    issuerNameHash: new OctetString(createHash(hash).update(Buffer.from(AsnConvert.serialize(issuerCert.tbsCertificate.subject))).digest()),
    issuerKeyHash: new OctetString(createHash(hash).update(Buffer.from(keyBits(issuer))).digest()),
    serialNumber: cert.tbsCertificate.serialNumber,
  });
}

/** A signed, successful OCSPResponse (DER). */
export function createTestOcspResponse(options: TestOcspOptions): Uint8Array {
  const signer = options.signer ?? options.issuer;
  const responses = options.answers.map(({ certificate, status }) => new SingleResponse({
    certID: certId(certificate, options.issuer.der, options.certIdHash ?? 'sha256'),
    certStatus: new CertStatus(status === 'good' ? { good: null } : status === 'unknown' ? { unknown: null } : { revoked: new RevokedInfo({ revocationTime: new Date(options.thisUpdate.getTime() - 86_400_000), revocationReason: new CRLReason(CRLReasons.keyCompromise) }) }),
    thisUpdate: options.thisUpdate,
    ...(options.nextUpdate === undefined ? {} : { nextUpdate: options.nextUpdate }),
  }));
  const data = new ResponseData({
    responderID: new ResponderID({ byKey: new OctetString(createHash('sha1').update(Buffer.from(keyBits(signer.der))).digest()) }),
    producedAt: options.thisUpdate,
    responses,
  });
  const tbs = new Uint8Array(AsnConvert.serialize(data));
  const signature = cryptoSign('sha384', tbs, KeyObject.from(signer.keys.privateKey));
  const basic = new BasicOCSPResponse({
    tbsResponseData: data,
    signatureAlgorithm: new AlgorithmIdentifier({ algorithm: ECDSA_SHA384 }),
    signature: new Uint8Array(signature).buffer,
    ...(options.signer === undefined ? {} : { certs: [AsnConvert.parse(options.signer.der, Certificate)] }),
  });
  const response = new OCSPResponse({
    responseStatus: OCSPResponseStatus.successful,
    responseBytes: new ResponseBytes({ responseType: id_pkix_ocsp_basic, response: new OctetString(AsnConvert.serialize(basic)) }),
  });
  return new Uint8Array(AsnConvert.serialize(response));
}

/** A CRL (DER) of `issuer` listing `revoked` certificates. */
export async function createTestCrl(issuer: TestIssuer, revoked: readonly Uint8Array[], thisUpdate: Date, nextUpdate: Date): Promise<Uint8Array> {
  const issuerCert = new x509.X509Certificate(issuer.der);
  const crl = await x509.X509CrlGenerator.create({
    issuer: issuerCert.subject,
    thisUpdate,
    nextUpdate,
    entries: revoked.map((der) => ({ serialNumber: new x509.X509Certificate(der).serialNumber, revocationDate: thisUpdate })),
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: P384,
  });
  return new Uint8Array(crl.rawData);
}

/** A responder certificate `issuer` signs, with the OCSP-signing EKU unless `ocspSigning` is false. */
export async function createTestOcspResponder(issuer: TestIssuer, options: { readonly ocspSigning?: boolean; readonly notAfter?: Date } = {}): Promise<TestIssuer> {
  const keys = (await webcrypto.subtle.generateKey(P384, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '7e57',
    subject: 'CN=Test OCSP Responder, O=Test Not NVIDIA',
    issuer: new x509.X509Certificate(issuer.der).subject,
    notBefore: new Date('2024-01-01T00:00:00Z'),
    notAfter: options.notAfter ?? new Date('2034-01-01T00:00:00Z'),
    signingAlgorithm: P384,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    extensions: options.ocspSigning === false ? [] : [new x509.ExtendedKeyUsageExtension([id_kp_OCSPSigning])],
  });
  return { der: new Uint8Array(cert.rawData), keys };
}

/**
 * A local OCSP responder for a whole chain (leaf first, root last, with its key pairs): answers
 * each POSTed request for a certificate of the chain with a response signed by its issuer,
 * `good` unless the certificate's serial is in `revoked`; counts the requests.
 */
export async function startTestOcspResponder(chain: readonly Uint8Array[], keys: readonly webcrypto.CryptoKeyPair[], options: { readonly now: () => Date; readonly revoked?: ReadonlySet<number> }): Promise<{ url: string; requests(): number; close(): Promise<void> }> {
  let requests = 0;
  const serials = chain.map((der) => Buffer.from(AsnConvert.parse(der, Certificate).tbsCertificate.serialNumber).toString('hex'));
  const server: Server = createServer((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (chunk: Buffer) => body.push(chunk));
    req.on('end', () => {
      requests += 1;
      try {
        if (req.method !== 'POST' || req.headers['content-type'] !== 'application/ocsp-request') throw new Error('not an OCSP request');
        const request = AsnConvert.parse(Buffer.concat(body), OCSPRequest);
        const serial = Buffer.from(request.tbsRequest.requestList[0]?.reqCert.serialNumber ?? new ArrayBuffer(0)).toString('hex');
        const index = serials.indexOf(serial);
        if (index < 0 || index >= chain.length - 1) throw new Error('unknown certificate');
        const now = options.now();
        const der = createTestOcspResponse({
          issuer: { der: chain[index + 1] as Uint8Array, keys: keys[index + 1] as webcrypto.CryptoKeyPair },
          answers: [{ certificate: chain[index] as Uint8Array, status: options.revoked?.has(index) === true ? 'revoked' : 'good' }],
          thisUpdate: new Date(now.getTime() - 3_600_000),
          nextUpdate: new Date(now.getTime() + 7 * 86_400_000),
        });
        res.writeHead(200, { 'content-type': 'application/ocsp-response', 'content-length': der.byteLength });
        res.end(der);
      } catch {
        const der = AsnConvert.serialize(new OCSPResponse({ responseStatus: OCSPResponseStatus.unauthorized }));
        res.writeHead(200, { 'content-type': 'application/ocsp-response' });
        res.end(Buffer.from(der));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return {
    url: `http://127.0.0.1:${address.port}/`,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
