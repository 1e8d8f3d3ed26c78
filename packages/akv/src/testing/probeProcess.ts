/**
 * A separate process that reads one resource through the configured Key Vault backend and
 * prints `{"value": <base64 or null>}` — proof that a *process* (like a KBS started from its
 * config file) reaches a FakeKeyVault with only `FakeKeyVault.processEnvironment()` and config.
 *
 *   tsx packages/akv/src/testing/probeProcess.ts '<plugin table as JSON>' default/akv/coco_one
 */
import { createLogger } from '@trustee/log';
import { openAkvStore, parseAkvBackendConfig } from '../akvConfig.ts';

const [table = '{}', key = ''] = process.argv.slice(2);
const store = openAkvStore(parseAkvBackendConfig(JSON.parse(table) as Record<string, unknown>, 'plugin'), { log: createLogger({ service: 'akv-probe' }) });
try {
  const value = await store.get('repository', key);
  console.log(JSON.stringify({ value: value === undefined ? null : Buffer.from(value).toString('base64') }));
} catch (error) {
  console.error(`error: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await store.close();
}
