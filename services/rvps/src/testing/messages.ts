/**
 * Test inputs for the RVPS transports: registration messages of the three extractor types
 * (real XML and real CBOR, built here) and admin keys/tokens signed with jose.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Encoder, Tag } from 'cbor-x';
import { SignJWT } from 'jose';

export function sampleMessage(values: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ version: '0.1.0', type: 'sample', payload: Buffer.from(JSON.stringify(values)).toString('base64'), ...extra });
}

export const SWID_HASH = 'ab'.repeat(48);

export function swidMessage(): string {
  const xml = `<SoftwareIdentity xmlns="http://standards.iso.org/iso/19770/-2/2015/schema.xsd"
  xmlns:rim="https://trustedcomputinggroup.org/resource/tcg-reference-integrity-manifest-rim-information-model/"
  xmlns:sha="http://www.w3.org/2001/04/xmlenc#sha384">
  <Meta edition="GPU" rim:PlatformManufacturerStr="Test Vendor"/>
  <Payload><Resource type="Measurement" index="3" sha:Hash0="${SWID_HASH}"/></Payload>
</SoftwareIdentity>`;
  return JSON.stringify({ version: '0.1.0', type: 'swid', payload: Buffer.from(xml).toString('base64') });
}

export const CORIM_DIGEST = 'cd'.repeat(32);

export function corimMessage(): string {
  const encoder = new Encoder({ mapsAsObjects: false, useRecords: false });
  const measurement = new Map<number, unknown>([
    [0, 'kernel'],
    [1, new Map<number, unknown>([[2, [[1, Buffer.from(CORIM_DIGEST, 'hex')]]]])],
  ]);
  const environment = new Map([[0, new Map([[1, 'Vendor'], [2, 'Board']])]]);
  const comid = encoder.encode(new Map<number, unknown>([[1, new Map([[0, 'comid']])], [4, new Map([[0, [[environment, [measurement]]]]])]]));
  const corim = encoder.encode(new Tag(new Map<number, unknown>([[0, 'corim'], [1, [new Tag(Buffer.from(comid), 506)]]]), 501));
  return JSON.stringify({ version: '0.1.0', type: 'corim', payload: Buffer.from(corim).toString('base64') });
}

export interface AdminKeys {
  readonly publicKeyPath: string;
  readonly privateKey: KeyObject;
  /** A valid admin token (ES256, exp in 10 minutes from `now`). */
  token(options?: { now?: Date; expiresInSeconds?: number; issuer?: string; key?: KeyObject }): Promise<string>;
}

export function createAdminKeys(dir: string): AdminKeys {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicKeyPath = join(dir, 'admin-public.pem');
  writeFileSync(publicKeyPath, publicKey.export({ type: 'spki', format: 'pem' }));
  return {
    publicKeyPath,
    privateKey,
    token(options = {}) {
      const iat = Math.floor((options.now ?? new Date()).getTime() / 1000);
      const jwt = new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'ES256' }).setIssuedAt(iat).setExpirationTime(iat + (options.expiresInSeconds ?? 600));
      if (options.issuer !== undefined) jwt.setIssuer(options.issuer);
      return jwt.sign(options.key ?? privateKey);
    },
  };
}
