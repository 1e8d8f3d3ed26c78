import 'reflect-metadata';

export * from './verifier.ts';
export * from './verificationError.ts';
