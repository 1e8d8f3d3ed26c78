/**
 * crypto.x509.* and crypto.parse_private_keys: certificates (PEM, base64 PEM or base64 DER
 * chains) parsed with node:crypto's X509Certificate and rendered in the shape OPA produces from
 * Go's x509.Certificate JSON (Subject/Issuer pkix.Name, DNSNames, URIStrings, NotBefore, ...).
 * Private keys come back as JWKs.
 */
import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { builtinError, type BuiltinContext, type BuiltinDefinition } from '../builtinContract.ts';
import { ObjectValue, fromJson, type Value } from '../value.ts';
import { stringArg } from './args.ts';
import { DerError, children, decodeOid, readName, readTlv, splitSequences, type DerNode, type NameAttribute } from './der.ts';
import { decodeBase64Strict } from './encoding.ts';
import { errorClassWithCode } from '@trustee/errors';

class X509Error extends errorClassWithCode('invalid_certificate') {}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

interface PemBlock { type: string; der: Buffer }

function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(PEM_BLOCK)) {
    const body = (m[2] ?? '').replace(/\s+/g, '');
    out.push({ type: m[1] as string, der: Buffer.from(body, 'base64') });
  }
  return out;
}

/** OPA's input convention: PEM text, base64 of PEM, or base64 of DER. */
function decodeInput(text: string): { pem?: string; der?: Buffer } {
  if (text.startsWith('-----BEGIN')) return { pem: text };
  let bytes: Buffer;
  try {
    bytes = decodeBase64Strict(text, false);
  } catch (error) {
    throw new X509Error((error as Error).message);
  }
  if (bytes.subarray(0, 10).toString('latin1') === '-----BEGIN') return { pem: bytes.toString('latin1') };
  return { der: bytes };
}

function certificatesFrom(text: string): Buffer[] {
  const input = decodeInput(text);
  if (input.pem !== undefined) {
    const blocks = pemBlocks(input.pem).filter((b) => b.type === 'CERTIFICATE');
    if (blocks.length === 0) throw new X509Error('x509: malformed certificate');
    return blocks.map((b) => b.der);
  }
  try {
    return splitSequences(input.der ?? Buffer.alloc(0)).map((d) => Buffer.from(d));
  } catch {
    throw new X509Error('x509: malformed certificate');
  }
}

// ---------------------------------------------------------------------------------------------
// Go-shaped JSON

const NAME_FIELDS: ReadonlyArray<[string, string]> = [
  ['2.5.4.6', 'Country'], ['2.5.4.10', 'Organization'], ['2.5.4.11', 'OrganizationalUnit'],
  ['2.5.4.7', 'Locality'], ['2.5.4.8', 'Province'], ['2.5.4.9', 'StreetAddress'], ['2.5.4.17', 'PostalCode'],
];

/** Go's pkix.Name as encoding/json renders it. */
function pkixName(attributes: readonly NameAttribute[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [oid, field] of NAME_FIELDS) {
    const values = attributes.filter((a) => a.type.join('.') === oid).map((a) => a.value);
    out[field] = values.length === 0 ? null : values;
  }
  out['SerialNumber'] = attributes.find((a) => a.type.join('.') === '2.5.4.5')?.value ?? '';
  out['CommonName'] = attributes.find((a) => a.type.join('.') === '2.5.4.3')?.value ?? '';
  out['Names'] = attributes.length === 0 ? null : attributes.map((a) => ({ Type: a.type, Value: a.value }));
  out['ExtraNames'] = null;
  return out;
}

const SIGNATURE_ALGORITHMS: Readonly<Record<string, number>> = {
  '1.2.840.113549.1.1.2': 1, '1.2.840.113549.1.1.4': 2, '1.2.840.113549.1.1.5': 3, '1.2.840.113549.1.1.11': 4,
  '1.2.840.113549.1.1.12': 5, '1.2.840.113549.1.1.13': 6, '1.2.840.10040.4.3': 7, '2.16.840.1.101.3.4.3.2': 8,
  '1.2.840.10045.4.1': 9, '1.2.840.10045.4.3.2': 10, '1.2.840.10045.4.3.3': 11, '1.2.840.10045.4.3.4': 12,
  '1.2.840.113549.1.1.10': 13, '1.3.101.112': 16,
};

function publicKeyInfo(key: KeyObject): { algorithm: number; key: unknown } {
  const jwk = key.export({ format: 'jwk' }) as Record<string, string>;
  const big = (b64: string | undefined): bigint => BigInt(`0x${Buffer.from(b64 ?? '', 'base64url').toString('hex') || '0'}`);
  switch (key.asymmetricKeyType) {
    case 'rsa': return { algorithm: 1, key: { N: big(jwk['n']), E: big(jwk['e']) } };
    case 'ec': return { algorithm: 3, key: { Curve: { Name: jwk['crv'] ?? '' }, X: big(jwk['x']), Y: big(jwk['y']) } };
    case 'ed25519': return { algorithm: 4, key: Buffer.from(jwk['x'] ?? '', 'base64url').toString('base64') };
    default: return { algorithm: 0, key: null };
  }
}

function rfc3339(dateText: string): string {
  const d = new Date(dateText);
  if (Number.isNaN(d.getTime())) return dateText;
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function subjectAltNames(cert: X509Certificate): Record<string, string[] | null> {
  const dns: string[] = [];
  const emails: string[] = [];
  const ips: string[] = [];
  const uris: string[] = [];
  for (const entry of (cert.subjectAltName ?? '').split(/,\s*/)) {
    const colon = entry.indexOf(':');
    if (colon < 0) continue;
    const kind = entry.slice(0, colon);
    const value = entry.slice(colon + 1).replace(/^"|"$/g, '');
    if (kind === 'DNS') dns.push(value);
    else if (kind === 'email') emails.push(value);
    else if (kind === 'IP Address') ips.push(value);
    else if (kind === 'URI') uris.push(value);
  }
  const orNull = (list: string[]): string[] | null => (list.length === 0 ? null : list);
  return { DNSNames: orNull(dns), EmailAddresses: orNull(emails), IPAddresses: orNull(ips), URIStrings: orNull(uris) };
}

interface ParsedCertificate { x509: X509Certificate; json: Record<string, unknown> }

function parseCertificate(der: Buffer): ParsedCertificate {
  let x509: X509Certificate;
  let tbs: DerNode[];
  let top: DerNode[];
  try {
    x509 = new X509Certificate(der);
    top = children(readTlv(der, 0).node);
    const tbsNode = top[0];
    if (tbsNode === undefined) throw new DerError('missing tbsCertificate');
    tbs = children(tbsNode);
  } catch {
    throw new X509Error('x509: malformed certificate');
  }
  const hasVersion = tbs[0]?.tag === 0xa0;
  const at = (i: number): DerNode | undefined => tbs[hasVersion ? i + 1 : i];
  const versionNode = hasVersion ? children(tbs[0] as DerNode)[0] : undefined;
  const version = versionNode === undefined ? 1 : Number(BigInt(`0x${Buffer.from(versionNode.content).toString('hex')}`)) + 1;
  const issuer = at(2);
  const subject = at(4);
  const spki = at(5);
  const sigAlg = top[1] === undefined ? undefined : children(top[1])[0];
  const signature = top[2];
  const key = publicKeyInfo(x509.publicKey);
  return {
    x509,
    json: {
      Raw: der.toString('base64'),
      RawTBSCertificate: top[0] === undefined ? null : Buffer.from(top[0].raw).toString('base64'),
      RawSubjectPublicKeyInfo: spki === undefined ? null : Buffer.from(spki.raw).toString('base64'),
      RawSubject: subject === undefined ? null : Buffer.from(subject.raw).toString('base64'),
      RawIssuer: issuer === undefined ? null : Buffer.from(issuer.raw).toString('base64'),
      Signature: signature === undefined ? null : Buffer.from(signature.content.subarray(1)).toString('base64'),
      SignatureAlgorithm: sigAlg === undefined ? 0 : SIGNATURE_ALGORITHMS[decodeOid(sigAlg.content).join('.')] ?? 0,
      PublicKeyAlgorithm: key.algorithm,
      PublicKey: key.key,
      Version: version,
      SerialNumber: BigInt(`0x${x509.serialNumber}`),
      Issuer: pkixName(issuer === undefined ? [] : readName(issuer)),
      Subject: pkixName(subject === undefined ? [] : readName(subject)),
      NotBefore: rfc3339(x509.validFrom),
      NotAfter: rfc3339(x509.validTo),
      IsCA: x509.ca,
      BasicConstraintsValid: x509.ca,
      ...subjectAltNames(x509),
      URIs: null,
    },
  };
}

function toValue(x: unknown): Value {
  return fromJson(x);
}

// ---------------------------------------------------------------------------------------------

function parseCertificates(text: string): Value {
  return certificatesFrom(text).map((der) => toValue(parseCertificate(der).json));
}

/**
 * OPA's convention: the first certificate is the trusted root, the last the leaf, the rest
 * intermediates. Verifies leaf → intermediates → root at the evaluation time and returns the
 * chain leaf first, like Go's Verify.
 */
interface VerifyOptions { nowMs: number; dnsName?: string; keyUsages?: string[] }

const EXT_KEY_USAGES: Readonly<Record<string, string>> = {
  KeyUsageAny: '2.5.29.37.0', KeyUsageServerAuth: '1.3.6.1.5.5.7.3.1', KeyUsageClientAuth: '1.3.6.1.5.5.7.3.2',
  KeyUsageCodeSigning: '1.3.6.1.5.5.7.3.3', KeyUsageEmailProtection: '1.3.6.1.5.5.7.3.4',
  KeyUsageIPSECEndSystem: '1.3.6.1.5.5.7.3.5', KeyUsageIPSECTunnel: '1.3.6.1.5.5.7.3.6', KeyUsageIPSECUser: '1.3.6.1.5.5.7.3.7',
  KeyUsageTimeStamping: '1.3.6.1.5.5.7.3.8', KeyUsageOCSPSigning: '1.3.6.1.5.5.7.3.9',
};

function parseAndVerify(text: string, options: VerifyOptions): Value {
  const invalid: Value = [false, []];
  let parsed: ParsedCertificate[];
  try {
    parsed = certificatesFrom(text).map(parseCertificate);
  } catch {
    return invalid;
  }
  if (parsed.length < 2) return invalid;
  const chain = [...parsed].reverse();
  for (let i = 0; i < chain.length; i++) {
    const cert = (chain[i] as ParsedCertificate).x509;
    const issuer = (chain[Math.min(i + 1, chain.length - 1)] as ParsedCertificate).x509;
    if (options.nowMs < Date.parse(cert.validFrom) || options.nowMs > Date.parse(cert.validTo)) return invalid;
    if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) return invalid;
    if (i > 0 && !cert.ca) return invalid;
  }
  const leaf = (chain[0] as ParsedCertificate).x509;
  if (options.dnsName !== undefined && leaf.checkHost(options.dnsName) === undefined) return invalid;
  if (options.keyUsages !== undefined && options.keyUsages.length > 0) {
    const wanted = options.keyUsages.map((u) => EXT_KEY_USAGES[u]);
    const present = leaf.keyUsage ?? [];
    // Go: a certificate without an extended key usage extension is valid for any usage.
    const ok = present.length === 0 || present.includes('2.5.29.37.0') || wanted.includes('2.5.29.37.0')
      || wanted.some((oid) => oid !== undefined && present.includes(oid));
    if (!ok) return invalid;
  }
  return [true, chain.map((p) => toValue(p.json))];
}

function verifyOptions(fn: string, v: Value, ctx: BuiltinContext): VerifyOptions {
  if (!(v instanceof ObjectValue)) throw builtinError(fn, 'operand 2 must be object');
  const options: VerifyOptions = { nowMs: Number(ctx.nowNs / 1_000_000n) };
  for (const [k, val] of v.entries()) {
    switch (k) {
      case 'DNSName':
        if (typeof val !== 'string') throw builtinError(fn, "'DNSName' should be a string");
        options.dnsName = val;
        break;
      case 'CurrentTime':
        if (typeof val !== 'number' && typeof val !== 'bigint') throw builtinError(fn, "'CurrentTime' should be a number");
        options.nowMs = Number(BigInt(val) / 1_000_000n);
        break;
      case 'MaxConstraintComparisons':
        if (typeof val !== 'number' && typeof val !== 'bigint') throw builtinError(fn, "'MaxConstraintComparisons' should be a number");
        break;
      case 'KeyUsages':
        if (!Array.isArray(val) || !val.every((u) => typeof u === 'string' && EXT_KEY_USAGES[u] !== undefined)) {
          throw builtinError(fn, "'KeyUsages' should be an array of known key usages");
        }
        options.keyUsages = val as string[];
        break;
      default:
        throw builtinError(fn, `invalid key option: ${String(k)}`);
    }
  }
  return options;
}

function parseCertificateRequest(text: string): Value {
  const input = decodeInput(text);
  let der: Uint8Array;
  if (input.pem !== undefined) {
    const block = pemBlocks(input.pem).find((b) => b.type === 'CERTIFICATE REQUEST' || b.type === 'NEW CERTIFICATE REQUEST');
    if (block === undefined) throw new X509Error('x509: failed to decode PEM block containing certificate request');
    der = block.der;
  } else {
    der = input.der ?? Buffer.alloc(0);
  }
  try {
    const [info, sigAlg, signature] = children(readTlv(der, 0).node);
    if (info === undefined || sigAlg === undefined || signature === undefined) throw new DerError('truncated');
    const [version, subject, spki] = children(info);
    if (version === undefined || subject === undefined || spki === undefined) throw new DerError('truncated');
    const key = publicKeyInfo(createPublicKey({ key: Buffer.from(spki.raw), format: 'der', type: 'spki' }));
    const algorithm = children(sigAlg)[0];
    return toValue({
      Raw: Buffer.from(der).toString('base64'),
      RawTBSCertificateRequest: Buffer.from(info.raw).toString('base64'),
      RawSubjectPublicKeyInfo: Buffer.from(spki.raw).toString('base64'),
      RawSubject: Buffer.from(subject.raw).toString('base64'),
      Version: Number(BigInt(`0x${Buffer.from(version.content).toString('hex') || '0'}`)),
      Signature: Buffer.from(signature.content.subarray(1)).toString('base64'),
      SignatureAlgorithm: algorithm === undefined ? 0 : SIGNATURE_ALGORITHMS[decodeOid(algorithm.content).join('.')] ?? 0,
      PublicKeyAlgorithm: key.algorithm,
      PublicKey: key.key,
      Subject: pkixName(readName(subject)),
    });
  } catch (error) {
    if (error instanceof X509Error) throw error;
    throw new X509Error(`asn1: structure error: ${(error as Error).message}`);
  }
}

function privateKeyJwk(key: KeyObject): Value {
  return toValue(key.export({ format: 'jwk' }));
}

function parseRsaPrivateKey(text: string): Value {
  const input = decodeInput(text);
  const pem = input.pem ?? '';
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new X509Error(`failed to parse RSA private key: ${(error as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'rsa') throw new X509Error('not an RSA private key');
  return privateKeyJwk(key);
}

function parsePrivateKeys(text: string): Value {
  if (text === '') return null;
  let pem: string;
  try {
    pem = decodeInput(text).pem ?? '';
  } catch {
    pem = text;
  }
  const out: Value[] = [];
  for (const m of pem.matchAll(PEM_BLOCK)) {
    if (!/PRIVATE KEY$/.test(m[1] as string)) continue;
    try {
      out.push(privateKeyJwk(createPrivateKey(m[0])));
    } catch {
      // Blocks that are not parseable keys are skipped, like OPA.
    }
  }
  return out;
}

function parseKeyPair(certText: string, keyText: string): Value {
  const ders = certificatesFrom(certText);
  const keyPem = decodeInput(keyText).pem;
  if (keyPem === undefined) throw new X509Error('tls: failed to find any PEM data in key input');
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (error) {
    throw new X509Error(`tls: failed to parse private key: ${(error as Error).message}`);
  }
  const leaf = parseCertificate(ders[0] as Buffer);
  const publicFromKey = createPublicKey(key).export({ format: 'der', type: 'spki' });
  const publicFromCert = leaf.x509.publicKey.export({ format: 'der', type: 'spki' });
  if (!Buffer.from(publicFromKey).equals(Buffer.from(publicFromCert))) throw new X509Error('tls: private key does not match public key');
  return ObjectValue.fromRecord({
    Certificate: ders.map((d) => d.toString('base64')),
    PrivateKey: privateKeyJwk(key),
    Leaf: null,
  });
}

function wrap<T>(fn: string, body: () => T): T {
  try {
    return body();
  } catch (error) {
    if (error instanceof X509Error) throw builtinError(fn, error.message);
    throw error;
  }
}

export const x509Builtins: BuiltinDefinition[] = [
  { name: 'crypto.x509.parse_certificates', arity: 1, impl: ([s], ctx) => wrap(ctx.name, () => parseCertificates(stringArg(ctx.name, s as Value, 1))) },
  {
    name: 'crypto.x509.parse_and_verify_certificates', arity: 1,
    impl: ([s], ctx) => wrap(ctx.name, () => parseAndVerify(stringArg(ctx.name, s as Value, 1), { nowMs: Number(ctx.nowNs / 1_000_000n) })),
  },
  {
    name: 'crypto.x509.parse_and_verify_certificates_with_options', arity: 2,
    impl: ([s, o], ctx) => wrap(ctx.name, () => parseAndVerify(stringArg(ctx.name, s as Value, 1), verifyOptions(ctx.name, o as Value, ctx))),
  },
  {
    name: 'crypto.x509.parse_certificate_request', arity: 1,
    impl: ([s], ctx) => wrap(ctx.name, () => parseCertificateRequest(stringArg(ctx.name, s as Value, 1))),
  },
  {
    name: 'crypto.x509.parse_keypair', arity: 2,
    impl: ([c, k], ctx) => wrap(ctx.name, () => parseKeyPair(stringArg(ctx.name, c as Value, 1), stringArg(ctx.name, k as Value, 2))),
  },
  {
    name: 'crypto.x509.parse_rsa_private_key', arity: 1,
    impl: ([s], ctx) => wrap(ctx.name, () => parseRsaPrivateKey(stringArg(ctx.name, s as Value, 1))),
  },
  { name: 'crypto.parse_private_keys', arity: 1, impl: ([s], ctx) => wrap(ctx.name, () => parsePrivateKeys(stringArg(ctx.name, s as Value, 1))) },
];

