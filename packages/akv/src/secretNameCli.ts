/**
 * Prints the Key Vault secret name of resource paths (or, with --decode, the path of names), so
 * operators can create secrets the KBS will find:
 *
 *   tsx packages/akv/src/secretNameCli.ts [--prefix kbs-] default/akv/coco_one   → kbs-default--akv--coco-5fone
 *   tsx packages/akv/src/secretNameCli.ts [--prefix kbs-] --decode kbs-default--akv--coco-5fone
 */
import { parseArgs } from 'node:util';
import { keyForSecretName, secretNameForKey } from './secretName.ts';

function main(): number {
  const { values, positionals } = parseArgs({ options: { prefix: { type: 'string', default: '' }, decode: { type: 'boolean', default: false } }, allowPositionals: true });
  if (positionals.length === 0) {
    console.error('usage: secretNameCli [--prefix <p>] [--decode] <path-or-name>...');
    return 2;
  }
  let status = 0;
  for (const item of positionals) {
    if (values.decode) {
      const key = keyForSecretName(item, values.prefix);
      if (key === undefined) {
        console.error(`${item}: not a secret name this KBS maps to a resource`);
        status = 1;
      } else console.log(key);
      continue;
    }
    try {
      console.log(secretNameForKey(item, values.prefix));
    } catch (error) {
      console.error(`${item}: ${(error as Error).message}`);
      status = 1;
    }
  }
  return status;
}

process.exitCode = main();
