/**
 * Resource-response encryption: flattened JWE, `enc` A256GCM, key management chosen
 * by the tee-pubkey. The protected header is serialised by hand because the Rust client
 * rebuilds it (`alg`, `enc`, then the other members, compact; `epk` members `crv, kty, x, y`)
 * before using it as AAD, so the bytes must match that form exactly.
 */
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHash,
  createPublicKey,
  diffieHellman,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { b64url } from './base64.ts';
import { JweError } from './errors.ts';
import type { JweResponse } from './messages.ts';
import { EC_COORDINATE_LENGTH, type EcTeePubKey, type RsaTeePubKey, type TeePubKey } from './teePubKey.ts';

const ENC = 'A256GCM';
const ECDH_ALG = 'ECDH-ES+A256KW';
const CEK_LENGTH = 32;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;
/** RFC 3394 default initial value. */
const KEY_WRAP_IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');

const JWK_CURVE_TO_NODE: Readonly<Record<string, string>> = { 'P-256': 'prime256v1', 'P-521': 'secp521r1' };

/** Deterministic inputs for tests; production code lets every value be random. */
export interface JweKeyMaterial {
  /** Raw ephemeral EC private scalar (big-endian, curve size). */
  readonly ephemeralPrivateKey?: Uint8Array;
  readonly cek?: Uint8Array;
  readonly iv?: Uint8Array;
}

/**
 * Encrypts a resource to the TEE key from the attestation token.
 *
 * Supported: EC P-256/P-521 with `ECDH-ES+A256KW`, RSA with `RSA-OAEP-256` or `RSA1_5`.
 * Anything else (incl. the `ML-KEM-768+A192KW` AKP key: Node 20's crypto has no ML-KEM) is a
 * JweError, which the KBS reports as `JweError` at resource time.
 */
export function encryptForTeeKey(plaintext: Uint8Array, key: TeePubKey): JweResponse {
  return encryptForTeeKeyWith(plaintext, key, {});
}

/** {@link encryptForTeeKey} with injectable key material (test vectors). */
export function encryptForTeeKeyWith(plaintext: Uint8Array, key: TeePubKey, material: JweKeyMaterial): JweResponse {
  const cek = material.cek ?? randomBytes(CEK_LENGTH);
  const iv = material.iv ?? randomBytes(IV_LENGTH);
  if (cek.length !== CEK_LENGTH || iv.length !== IV_LENGTH) throw new JweError('CEK must be 32 bytes and IV 12 bytes');

  let header: string;
  let encryptedKey: Uint8Array;
  switch (key.kty) {
    case 'EC':
      ({ header, encryptedKey } = wrapWithEcdh(cek, key, material.ephemeralPrivateKey));
      break;
    case 'RSA':
      ({ header, encryptedKey } = wrapWithRsa(cek, key));
      break;
    case 'AKP':
      throw new JweError(`${key.alg} is not supported: node:crypto on Node 20 has no ML-KEM`);
  }

  const protectedB64 = b64url.encode(Buffer.from(header, 'utf8'));
  const cipher = createCipheriv('aes-256-gcm', cek, iv, { authTagLength: TAG_LENGTH });
  cipher.setAAD(Buffer.from(protectedB64, 'ascii'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return {
    protected: protectedB64,
    encrypted_key: b64url.encode(encryptedKey),
    iv: b64url.encode(iv),
    ciphertext: b64url.encode(ciphertext),
    tag: b64url.encode(cipher.getAuthTag()),
  };
}

function wrapWithEcdh(cek: Uint8Array, key: EcTeePubKey, ephemeralPrivateKey: Uint8Array | undefined): { header: string; encryptedKey: Uint8Array } {
  const nodeCurve = JWK_CURVE_TO_NODE[key.crv];
  const size = EC_COORDINATE_LENGTH[key.crv];
  if (key.alg !== ECDH_ALG || nodeCurve === undefined || size === undefined) {
    throw new JweError(`unsupported EC tee-pubkey: alg ${key.alg}, crv ${key.crv}`);
  }
  const x = decodeKeyMember(key.x, 'x');
  const y = decodeKeyMember(key.y, 'y');
  if (x.length !== size || y.length !== size) throw new JweError(`${key.crv} coordinates must be ${size} bytes`);

  const ephemeral = createECDH(nodeCurve);
  let z: Buffer;
  try {
    if (ephemeralPrivateKey === undefined) ephemeral.generateKeys();
    else ephemeral.setPrivateKey(ephemeralPrivateKey);
    z = ephemeral.computeSecret(Buffer.concat([Buffer.from([4]), x, y]));
  } catch {
    throw new JweError('ECDH with the tee-pubkey failed (point not on curve?)');
  }
  const point = ephemeral.getPublicKey(null, 'uncompressed');
  const epkX = b64url.encode(point.subarray(1, 1 + size));
  const epkY = b64url.encode(point.subarray(1 + size));
  const header = `{"alg":${JSON.stringify(ECDH_ALG)},"enc":${JSON.stringify(ENC)},"epk":{"crv":${JSON.stringify(key.crv)},"kty":"EC","x":${JSON.stringify(epkX)},"y":${JSON.stringify(epkY)}}}`;
  const kek = concatKdf(z, ECDH_ALG);
  const wrap = createCipheriv('id-aes256-wrap', kek, KEY_WRAP_IV);
  return { header, encryptedKey: Buffer.concat([wrap.update(cek), wrap.final()]) };
}

function wrapWithRsa(cek: Uint8Array, key: RsaTeePubKey): { header: string; encryptedKey: Uint8Array } {
  let padding: number;
  if (key.alg === 'RSA-OAEP-256') padding = constants.RSA_PKCS1_OAEP_PADDING;
  else if (key.alg === 'RSA1_5') padding = constants.RSA_PKCS1_PADDING;
  else throw new JweError(`unsupported RSA tee-pubkey alg ${key.alg}`);
  let encryptedKey: Buffer;
  try {
    const publicKey = createPublicKey({ key: { kty: 'RSA', n: key.n, e: key.e }, format: 'jwk' });
    encryptedKey = publicEncrypt({ key: publicKey, padding, oaepHash: 'sha256' }, cek);
  } catch {
    throw new JweError('RSA encryption to the tee-pubkey failed');
  }
  return { header: `{"alg":${JSON.stringify(key.alg)},"enc":${JSON.stringify(ENC)}}`, encryptedKey };
}

/** NIST SP 800-56A Concat KDF as RFC 7518 §4.6 uses it: one SHA-256 round, empty apu/apv, 256-bit output. */
function concatKdf(z: Uint8Array, alg: string): Buffer {
  const algBytes = Buffer.from(alg, 'ascii');
  return createHash('sha256')
    .update(u32be(1))
    .update(z)
    .update(u32be(algBytes.length))
    .update(algBytes)
    .update(u32be(0))
    .update(u32be(0))
    .update(u32be(256))
    .digest();
}

function u32be(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

function decodeKeyMember(value: string, name: string): Uint8Array {
  try {
    return b64url.decode(value);
  } catch {
    throw new JweError(`JWE member ${name} is not base64url without padding`);
  }
}

function parseHeader(protectedB64: string): Record<string, unknown> {
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(decodeKeyMember(protectedB64, 'protected')).toString('utf8'));
  } catch (error) {
    if (error instanceof JweError) throw error;
    throw new JweError('JWE protected header is not JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new JweError('JWE protected header is not an object');
  return header as Record<string, unknown>;
}

/**
 * Decrypts a KBS resource response with the client's TEE private key. The GCM AAD is the
 * received `protected` string (standard JWE; the KBS computes it from the same bytes).
 * RSA1_5 is refused: Node 20 disables PKCS#1 v1.5 private decryption (CVE-2023-46809).
 */
export function decryptJweResponse(jwe: JweResponse, privateKey: KeyObject): Uint8Array {
  const header = parseHeader(jwe.protected);
  if (header.enc !== ENC) throw new JweError(`unsupported JWE enc ${String(header.enc)}`);
  const iv = decodeKeyMember(jwe.iv, 'iv');
  const tag = decodeKeyMember(jwe.tag, 'tag');
  const ciphertext = decodeKeyMember(jwe.ciphertext, 'ciphertext');
  const encryptedKey = decodeKeyMember(jwe.encrypted_key, 'encrypted_key');
  if (iv.length !== IV_LENGTH || tag.length !== TAG_LENGTH) throw new JweError('JWE iv must be 12 bytes and tag 16 bytes');

  const cek = unwrapCek(header, encryptedKey, privateKey);
  if (cek.length !== CEK_LENGTH) throw new JweError('JWE content key is not 32 bytes');
  try {
    const decipher = createDecipheriv('aes-256-gcm', cek, iv, { authTagLength: TAG_LENGTH });
    decipher.setAAD(Buffer.from(jwe.protected, 'ascii'));
    decipher.setAuthTag(tag);
    return new Uint8Array(Buffer.concat([decipher.update(ciphertext), decipher.final()]));
  } catch {
    throw new JweError('JWE content decryption failed (integrity check)');
  }
}

function unwrapCek(header: Record<string, unknown>, encryptedKey: Uint8Array, privateKey: KeyObject): Uint8Array {
  switch (header.alg) {
    case ECDH_ALG:
      return unwrapWithEcdh(header.epk, encryptedKey, privateKey);
    case 'RSA-OAEP-256':
      if (privateKey.asymmetricKeyType !== 'rsa') throw new JweError('RSA-OAEP-256 JWE needs an RSA private key');
      try {
        return privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, encryptedKey);
      } catch {
        throw new JweError('RSA-OAEP-256 key unwrap failed');
      }
    case 'RSA1_5':
      throw new JweError('RSA1_5 decryption is refused by Node 20 (CVE-2023-46809); use an RSA-OAEP-256 or EC TEE key');
    default:
      throw new JweError(`unsupported JWE alg ${JSON.stringify(header.alg)}`);
  }
}

function unwrapWithEcdh(epk: unknown, encryptedKey: Uint8Array, privateKey: KeyObject): Uint8Array {
  if (typeof epk !== 'object' || epk === null) throw new JweError('ECDH-ES+A256KW JWE has no epk');
  const { kty, crv, x, y } = epk as Record<string, unknown>;
  const ownCurve = privateKey.asymmetricKeyType === 'ec' ? privateKey.asymmetricKeyDetails?.namedCurve : undefined;
  if (kty !== 'EC' || typeof crv !== 'string' || typeof x !== 'string' || typeof y !== 'string' || ownCurve === undefined || JWK_CURVE_TO_NODE[crv] !== ownCurve) {
    throw new JweError('JWE epk does not match the TEE key curve');
  }
  const size = EC_COORDINATE_LENGTH[crv];
  if (decodeKeyMember(x, 'epk.x').length !== size || decodeKeyMember(y, 'epk.y').length !== size) {
    throw new JweError(`JWE epk coordinates must be ${String(size)} bytes`);
  }
  try {
    const z = diffieHellman({ privateKey, publicKey: createPublicKey({ key: { kty, crv, x, y }, format: 'jwk' }) });
    const unwrap = createDecipheriv('id-aes256-wrap', concatKdf(z, ECDH_ALG), KEY_WRAP_IV);
    return new Uint8Array(Buffer.concat([unwrap.update(encryptedKey), unwrap.final()]));
  } catch {
    throw new JweError('ECDH-ES+A256KW key unwrap failed');
  }
}
