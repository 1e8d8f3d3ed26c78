// bench/ is not a workspace package, so the package is imported by path.
// Prints throughput of the KBS hot path pieces in @trustee/protocol: JCS runtime-data digest
// and resource encryption per TEE key type. Run: pnpm exec tsx bench/protocol.bench.ts
import { generateKeyPairSync } from 'node:crypto';
import { encryptForTeeKey, primaryRuntimeData, runtimeDataDigest, teePubKeyFromKey } from '../packages/protocol/src/index.ts';

function measure(label: string, run: () => void, durationMs = 1000): void {
  let count = 0;
  const start = performance.now();
  while (performance.now() - start < durationMs) {
    run();
    count++;
  }
  const elapsed = performance.now() - start;
  console.log(`${label.padEnd(40)} ${((count / elapsed) * 1000).toFixed(0).padStart(8)} ops/s  ${((elapsed / count) * 1000).toFixed(1).padStart(8)} µs/op`);
}

const payload = new Uint8Array(4096).fill(7);
const keys = {
  'EC P-256': teePubKeyFromKey(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey),
  'EC P-521': teePubKeyFromKey(generateKeyPairSync('ec', { namedCurve: 'secp521r1' }).privateKey),
  'RSA-2048 OAEP-256': teePubKeyFromKey(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey),
};
const nonce = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
measure('runtimeDataDigest sha384 (P-256 key)', () => runtimeDataDigest(primaryRuntimeData(nonce, keys['EC P-256'], ''), 'sha384'));
for (const [name, key] of Object.entries(keys)) measure(`encryptForTeeKey 4 KiB, ${name}`, () => encryptForTeeKey(payload, key));
