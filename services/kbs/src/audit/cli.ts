/**
 * `pnpm kbs audit verify|export|prune` on the store a KBS config names (the running KBS may
 * keep serving; every read is a plain store read).
 *
 *   verify [--public-key PEM]            walks the chain; exit 0 intact, 1 broken (names the first bad record)
 *   export --since TIME [--output FILE]  JSON lines, one record each, time >= TIME (ISO 8601 or ms)
 *   prune --keep N                       keeps the newest N records behind a signed checkpoint
 */
import { createWriteStream, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { UsageError } from '@trustee/errors';
import { loadKbsConfig } from '../config.ts';
import { loadCheckpointSigner, publicKeyFromPem, SIGNER_NAMESPACE } from './checkpointSigner.ts';
import { openAuditStore } from './index.ts';
import { defaultReplicaId, exportTrail, pruneTrail, verifyTrail } from './trail.ts';

const USAGE = `usage: kbs audit verify [--config-file F] [--public-key PEM] [--json]
       kbs audit export [--config-file F] --since <ISO time | ms> [--output FILE]
       kbs audit prune  [--config-file F] --keep <N>
The config file defaults to $KBS_CONFIG_FILE, then ./data/kbs-config.toml (the dev KBS's).`;


function parseSince(value: string | undefined): number {
  if (value === undefined) throw new UsageError('export needs --since');
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new UsageError(`--since: not a time: ${JSON.stringify(value)}`);
  return ms;
}

/** Runs one audit command; returns the exit code. */
export async function runAuditCli(argv: readonly string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        'config-file': { type: 'string', short: 'c' },
        'public-key': { type: 'string' },
        json: { type: 'boolean', default: false },
        since: { type: 'string' },
        output: { type: 'string', short: 'o' },
        keep: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    err.write(`error: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help || command === undefined) {
    (values.help ? out : err).write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const configFile = values['config-file'] ?? process.env['KBS_CONFIG_FILE'] ?? (existsSync('data/kbs-config.toml') ? 'data/kbs-config.toml' : undefined);
  if (configFile === undefined) {
    err.write(`error: no configuration: pass --config-file\n${USAGE}\n`);
    return 2;
  }
  const config = await loadKbsConfig(configFile);
  const { store } = openAuditStore(config.storage, undefined);
  try {
    switch (command) {
      case 'verify': {
        let trusted: string | undefined;
        if (values['public-key'] !== undefined) trusted = publicKeyFromPem(await readFile(values['public-key'], 'utf8'));
        else if (config.audit.checkpointKey !== undefined) trusted = publicKeyFromPem(await readFile(config.audit.checkpointKey, 'utf8'));
        else if ((await store.get(SIGNER_NAMESPACE, 'checkpoint-key.pem')) !== undefined) trusted = (await loadCheckpointSigner({ store })).publicKey;
        const report = await verifyTrail(store, { trustedPublicKey: trusted });
        if (values.json) out.write(`${JSON.stringify(report)}\n`);
        else if (report.ok) {
          const range = report.records === 0 ? 'no records' : `records ${report.first}..${report.last}`;
          const checkpoint = report.checkpoint === undefined ? '' : `, after the checkpoint of ${report.checkpoint.time} (records before ${report.checkpoint.next} pruned; signer ${report.checkpoint.signer})`;
          out.write(`audit trail intact: ${report.records} ${report.records === 1 ? 'record' : 'records'} (${range})${checkpoint}\n`);
        } else out.write(`audit trail BROKEN at record ${report.problem?.seq}: ${report.problem?.problem} (${report.records} records verified before it)\n`);
        return report.ok ? 0 : 1;
      }
      case 'export': {
        const since = parseSince(values.since);
        const target = values.output === undefined ? out : createWriteStream(values.output, { flags: 'w', mode: 0o600 });
        let count = 0;
        for await (const record of exportTrail(store, since)) {
          if (!target.write(`${JSON.stringify(record)}\n`)) await once(target, 'drain');
          count++;
        }
        if (target !== out) {
          (target as NodeJS.WritableStream & { end(cb: () => void): void }).end(() => undefined);
          await once(target, 'finish');
        }
        err.write(`exported ${count} ${count === 1 ? 'record' : 'records'}\n`);
        return 0;
      }
      case 'prune': {
        const keep = Number(values.keep);
        if (values.keep === undefined || !Number.isSafeInteger(keep) || keep < 1) throw new UsageError('prune needs --keep N (N >= 1)');
        const result = await pruneTrail(store, { keep, replica: `cli:${defaultReplicaId()}`, signer: () => loadCheckpointSigner({ keyPath: config.audit.checkpointKey, store }) });
        out.write(result.checkpoint === undefined ? 'nothing pruned\n' : `pruned ${result.pruned} records; checkpoint at ${result.checkpoint.next}\n`);
        return 0;
      }
      default:
        throw new UsageError(`unknown audit command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      err.write(`error: ${error.message}\n${USAGE}\n`);
      return 2;
    }
    throw error;
  } finally {
    await store.close();
  }
}
