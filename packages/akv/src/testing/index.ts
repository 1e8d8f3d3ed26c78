export { FakeKeyVault, FAKE_TENANT_ID, FAKE_TOKEN, type FakeKeyVaultOptions, type OperatorSecretOptions, type RecordedRequest, type SecretSnapshot } from './fakeKeyVault.ts';
export { createSelfSignedCertificate, type TlsMaterial } from './selfSignedCertificate.ts';
