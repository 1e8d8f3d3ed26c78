export { sampleVerifier } from './sampleVerifier.ts';
export { sampleDeviceVerifier } from './sampleDeviceVerifier.ts';
export { parseSampleEvidence, type SampleEvidence } from './parseSampleEvidence.ts';
