import type { Verifier } from '../verifier.ts';
import { checkSampleReportData } from './checkSampleReportData.ts';
import { parseSampleEvidence } from './parseSampleEvidence.ts';

/**
 * The `sampledevice` TEE (class `gpu`), sent as additional evidence when the guest sets
 * `ENABLE_SAMPLE_DEVICE`. Same binding as `sample`; init-data is ignored like upstream.
 */
export const sampleDeviceVerifier: Verifier = {
  tee: 'sampledevice',
  async evaluate(evidence, expected) {
    const parsed = parseSampleEvidence(evidence, 'sampledevice');
    checkSampleReportData(parsed.reportData, expected.reportData, 'sampledevice.report_data');
    return [{ teeClass: 'gpu', claims: { svn: parsed.svn, report_data: parsed.reportData } }];
  },
};
