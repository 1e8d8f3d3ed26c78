import 'reflect-metadata';

export * from './verifier.ts';
export * from './verificationError.ts';
export { getVerifier, supportedTees } from './registry.ts';
export { sampleVerifier, sampleDeviceVerifier } from './sample/index.ts';
