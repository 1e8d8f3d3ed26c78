// Invariant: the embedded AMD roots are exactly the pinned DER fingerprints, their signatures
// hold (ARK self-signed, ASK/ASVK by ARK), KDS cert_chain bundles from other sources contain the
// same certificates, and real VCEKs without a report chain to the right product's ASK.
import { describe, expect, test } from 'vitest';
import { hasVectors, readVector, readVectorText } from '../testing/snpVectors.ts';
import { AMD_PRODUCTS, AMD_ROOT_FINGERPRINTS } from './amdRoots.ts';
import { amdTrustAnchors } from './amdTrustAnchors.ts';
import { parseAmdCertificate, splitPemBundle } from './vekCertificate.ts';
import { verifyVekChain } from './verifyVekChain.ts';

test.each(AMD_PRODUCTS)('embedded %s anchors: pinned, named, signed', (product) => {
  const anchor = amdTrustAnchors().get(product);
  expect(anchor?.ark.fingerprint).toBe(AMD_ROOT_FINGERPRINTS[product].ark);
  expect(anchor?.ark.subjectCn).toBe(`ARK-${product}`);
  expect(anchor?.ask.subjectCn).toBe(`SEV-${product}`);
  expect(anchor?.asvk?.subjectCn).toBe(`SEV-VLEK-${product}`);
  expect(anchor?.ark.x509.verify(anchor.ark.publicKey)).toBe(true);
});

describe.skipIf(!hasVectors('certs/gosev-ask_ark_milan.pem'))('KDS cert_chain bundles in the vectors', () => {
  test.each([
    ['certs/amd-milan_ask_ark_asvk.pem', 'Milan', ['ask', 'ark', 'asvk']],
    ['certs/amd-genoa_ask_ark_asvk.pem', 'Genoa', ['ask', 'ark', 'asvk']],
    ['certs/amd-turin_ask_ark_asvk.pem', 'Turin', ['ask', 'ark', 'asvk']],
    ['certs/gosev-ask_ark_milan.pem', 'Milan', ['ask', 'ark']],
    ['certs/gosev-ask_ark_milan_vlek.pem', 'Milan', ['asvk', 'ark']],
    ['certs/gosev-ask_ark_genoa.pem', 'Genoa', ['ask', 'ark']],
    ['certs/gosev-ask_ark_genoa_vlek.pem', 'Genoa', ['asvk', 'ark']],
    ['certs/gosev-ask_ark_turin_vcek.pem', 'Turin', ['ask', 'ark']],
    ['certs/gosev-ask_ark_turin_vlek.pem', 'Turin', ['asvk', 'ark']],
  ] as const)('%s holds the pinned %s certificates', (file, product, roles) => {
    const certs = splitPemBundle(readVectorText(file)).map((der) => parseAmdCertificate(der, file));
    expect(certs.map((c) => c.fingerprint)).toEqual(roles.map((role) => AMD_ROOT_FINGERPRINTS[product][role]));
  });
});

describe.skipIf(!hasVectors('snp/virtee-vcek_turin.der', 'az-snp-vtpm/azcvm-certs.pem', 'az-snp-vtpm/trustee-vcek.pem'))('VCEKs without a matching report', () => {
  test.each([
    ['snp/virtee-vcek_turin.der', 'Turin', 8, () => readVector('snp/virtee-vcek_turin.der')],
    ['az-snp-vtpm/azcvm-certs.pem (first)', 'Milan', 64, () => splitPemBundle(readVectorText('az-snp-vtpm/azcvm-certs.pem'))[0] as Uint8Array],
    ['az-snp-vtpm/trustee-vcek.pem (first)', 'Milan', 64, () => splitPemBundle(readVectorText('az-snp-vtpm/trustee-vcek.pem'))[0] as Uint8Array],
  ] as const)('%s chains to the %s ASK (hwID %i bytes)', (_name, product, hwidLength, load) => {
    const vek = parseAmdCertificate(load(), 'vek');
    expect(vek.hwid?.byteLength).toBe(hwidLength);
    expect(verifyVekChain({ product, kind: 'vcek', vek }, amdTrustAnchors(), new Date('2026-06-01T00:00:00Z'))).toEqual([]);
    const other = product === 'Turin' ? 'Milan' : 'Turin';
    expect(verifyVekChain({ product: other, kind: 'vcek', vek }, amdTrustAnchors(), new Date('2026-06-01T00:00:00Z')).map((f) => f.check)).toEqual(['snp.vek.signature']);
  });
});
