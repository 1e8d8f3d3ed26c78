// Invariant: the DCAP core (shared by tdx, az-tdx-vtpm and a future sgx verifier) reproduces
// Intel's results on real SGX v3 quotes too: TCB level matching without TDX components,
// Processor-CA chains, QE identity `QE`; signatures cover the exact served JSON bytes, so a
// pretty-printed TCB info file does not verify.
import { describe, expect, test } from 'vitest';
import { parseDcapQuote } from './parseQuote.ts';
import { verifyDcapQuote, verifyPckChain } from './verifyQuote.ts';
import { hasVectors, readVector, readVectorText } from '../testing/snpVectors.ts';
import { DCAPQVL_COLLATERAL, vectorCollateral } from '../testing/tdxVectors.ts';
import { VerificationError } from '../verificationError.ts';
import type { IntelCollateral } from '../verifier.ts';

const SGX_COLLATERAL = 'sgx/dcapqvl-sgx_quote_collateral.json';
const FILES = [
  SGX_COLLATERAL, DCAPQVL_COLLATERAL, 'sgx/dcapqvl-sgx_quote', 'sgx/teekit-sgx-chinenyeokafor.dat', 'sgx/teekit-sgx-occlum.dat', 'sgx/teekit-sgx-tlsn-quote9.dat',
  'sgx/teekit-sgx-tlsn-quotedev.dat', 'sgx/teekit-tcbInfo-sgx-90c06f000000.json', 'sgx/teekit-tcbInfo-sgx-30606a000000.json', 'sgx/teekit-tcbInfo-sgx-00906ed50000.json',
];

/** PCS serves compact JSON; teekit stored some files pretty-printed (key order kept). */
function compactTcbInfoFile(file: string): string {
  return JSON.stringify(JSON.parse(readVectorText(file)) as unknown);
}

describe.skipIf(!hasVectors(...FILES))('DCAP core on real SGX quotes', () => {
  const sgx = (): IntelCollateral => vectorCollateral(SGX_COLLATERAL);
  // Platform-CA quotes need the Platform-CA PCK CRL, which the TDX bundle carries
  const platformCa = (tcbInfo: string): IntelCollateral => ({ ...vectorCollateral(DCAPQVL_COLLATERAL), tcbInfo, qeIdentity: sgx().qeIdentity });

  test.each([
    ['sgx/dcapqvl-sgx_quote', (): IntelCollateral => sgx(), '2025-07-01T00:00:00Z', 'ConfigurationAndSWHardeningNeeded', ['INTEL-SA-00289', 'INTEL-SA-00615'], 'processor'],
    ['sgx/teekit-sgx-chinenyeokafor.dat', (): IntelCollateral => platformCa(compactTcbInfoFile('sgx/teekit-tcbInfo-sgx-90c06f000000.json')), '2025-09-29T00:00:00Z', 'UpToDate', [], 'platform'],
    ['sgx/teekit-sgx-occlum.dat', (): IntelCollateral => platformCa(compactTcbInfoFile('sgx/teekit-tcbInfo-sgx-30606a000000.json')), '2025-09-29T00:00:00Z', 'OutOfDate',
      ['INTEL-SA-00586', 'INTEL-SA-00614', 'INTEL-SA-00615', 'INTEL-SA-00657', 'INTEL-SA-00730', 'INTEL-SA-00738', 'INTEL-SA-00767', 'INTEL-SA-00828', 'INTEL-SA-00837', 'INTEL-SA-00960'], 'platform'],
    ['sgx/teekit-sgx-tlsn-quote9.dat', (): IntelCollateral => ({ ...sgx(), tcbInfo: readVectorText('sgx/teekit-tcbInfo-sgx-00906ed50000.json') }), '2025-09-29T00:00:00Z', 'SWHardeningNeeded', ['INTEL-SA-00334', 'INTEL-SA-00615'], 'processor'],
    ['sgx/teekit-sgx-tlsn-quotedev.dat', (): IntelCollateral => ({ ...sgx(), tcbInfo: readVectorText('sgx/teekit-tcbInfo-sgx-00906ed50000.json') }), '2025-09-29T00:00:00Z', 'SWHardeningNeeded', ['INTEL-SA-00334', 'INTEL-SA-00615'], 'processor'],
  ])('%s → %s', (file, collateral, now, status, advisories, ca) => {
    const quote = parseDcapQuote(readVector(file));
    expect(quote.body.tee).toBe('sgx');
    expect(verifyPckChain(quote).platform.ca).toBe(ca);
    const result = verifyDcapQuote(quote, collateral(), { now: new Date(now), tee: 'sgx' });
    expect(result.tcbStatus).toBe(status);
    expect(result.advisoryIds).toEqual(advisories);
  });

  test('a pretty-printed TCB info file does not verify (signatures cover the served bytes)', () => {
    const quote = parseDcapQuote(readVector('sgx/teekit-sgx-chinenyeokafor.dat'));
    try {
      verifyDcapQuote(quote, platformCa(readVectorText('sgx/teekit-tcbInfo-sgx-90c06f000000.json')), { now: new Date('2025-09-29T00:00:00Z'), tee: 'sgx' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(VerificationError);
      expect((error as VerificationError).failures.map((f) => f.check)).toEqual(['dcap.tcb_info.signature']);
    }
  });

  test('an SGX quote is not accepted as TDX, nor TDX collateral for SGX', () => {
    const quote = parseDcapQuote(readVector('sgx/dcapqvl-sgx_quote'));
    expect(() => verifyDcapQuote(quote, sgx(), { now: new Date('2025-07-01T00:00:00Z'), tee: 'tdx' })).toThrow(/dcap.quote.tee_type/);
    const wrong = { ...sgx(), tcbInfo: vectorCollateral(DCAPQVL_COLLATERAL).tcbInfo, qeIdentity: vectorCollateral(DCAPQVL_COLLATERAL).qeIdentity };
    expect(() => verifyDcapQuote(quote, wrong, { now: new Date('2025-07-01T00:00:00Z'), tee: 'sgx' })).toThrow(/dcap.tcb_info.id.*dcap.qe_identity.id/);
  });
});
