// `node --import tsx --import ./recordModuleLoads.mjs app.ts`: appends the URL of every module
// the process loads to the file named by RECORD_MODULE_LOADS (one per line), for tests that
// prove what a configuration does not load.
import { register } from 'node:module';

const hooks = `
import { appendFileSync } from 'node:fs';
export async function load(url, context, nextLoad) {
  if (process.env.RECORD_MODULE_LOADS) appendFileSync(process.env.RECORD_MODULE_LOADS, url + '\\n');
  return nextLoad(url, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
