import type { JsonObject, Verifier } from '../verifier.ts';
import { checkSampleReportData } from './checkSampleReportData.ts';
import { parseSampleEvidence } from './parseSampleEvidence.ts';

/**
 * The `sample` TEE (class `cpu`): no hardware, no signature. It exists so the whole protocol
 * can run anywhere; the only check is the runtime-data binding. Claims are upstream's fixed
 * set (upstream deps/verifier/src/sample/mod.rs), so policies written for upstream behave the same.
 */
export const sampleVerifier: Verifier = {
  tee: 'sample',
  async evaluate(evidence, expected) {
    const parsed = parseSampleEvidence(evidence, 'sample');
    checkSampleReportData(parsed.reportData, expected.reportData, 'sample.report_data');
    const claims: JsonObject = {
      svn: parsed.svn,
      report_data: parsed.reportData,
      launch_digest: 'abcde',
      platform_version: { major: 1, minor: 4 },
      debug: false,
    };
    // The sample TEE cannot measure init-data; it echoes the digest so policies can see it.
    if (expected.initDataDigest !== undefined) claims.init_data = Buffer.from(expected.initDataDigest).toString('base64');
    return [{ teeClass: 'cpu', claims }];
  },
};
