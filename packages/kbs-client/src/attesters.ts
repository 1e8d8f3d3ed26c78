/**
 * Evidence sources. An Attester turns the runtime-data digest (and, when init-data was given,
 * its digest) into the evidence JSON of one TEE. Built in: the `sample` and `sampledevice`
 * attesters the guest uses outside a TEE, a fixed evidence file, and an external command —
 * the hook through which SNP/TDX test-evidence factories plug in.
 */
import { spawn } from 'node:child_process';
import { b64std } from '@trustee/protocol';
import { KbsClientError } from './kbsClientError.ts';

export interface Attester {
  /** TEE name sent in `/auth` (primary) or used as the key in `additional_evidence` (device). */
  readonly tee: string;
  /**
   * Produces evidence bound to `reportData` (the raw runtime-data digest, `runtimeDataDigest` in
   * @trustee/protocol; each TEE pads it as its report format requires). `initDataDigest` =
   * H_alg(init-data TOML text) with the TOML's `algorithm`, given only when init-data is sent.
   */
  getEvidence(reportData: Uint8Array, initDataDigest?: Uint8Array): Promise<unknown>;
}

/** `sample` TEE: `{"svn":"1","report_data":"<std b64 of digest>"}`. */
export const sampleAttester: Attester = {
  tee: 'sample',
  getEvidence(reportData) {
    return Promise.resolve({ svn: '1', report_data: b64std.encode(reportData) });
  },
};

/** `sampledevice` device: `{"svn":"2","report_data":"<std b64 of device digest>"}`. */
export const sampleDeviceAttester: Attester = {
  tee: 'sampledevice',
  getEvidence(reportData) {
    return Promise.resolve({ svn: '2', report_data: b64std.encode(reportData) });
  },
};

/** The guest enables the sample device when `ENABLE_SAMPLE_DEVICE` is set, to any value. */
export function sampleDeviceEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.ENABLE_SAMPLE_DEVICE !== undefined;
}

/**
 * Sends evidence made elsewhere, unchanged. The evidence must already be bound to this
 * session's nonce and key, so this only works when the KBS nonce is predictable to its maker
 * (tests) or the evidence is deliberately wrong (negative tests).
 */
export function fixedEvidenceAttester(tee: string, evidence: unknown): Attester {
  return { tee, getEvidence: () => Promise.resolve(evidence) };
}

export interface CommandAttesterOptions {
  readonly timeoutMs?: number;
  readonly maxOutputBytes?: number;
}

/**
 * Runs `command` through `/bin/sh -c` for each attestation. It receives the report data as
 * lowercase hex in `$1` and `KBS_REPORT_DATA`, the init-data digest (if any) in `$2` and
 * `KBS_INIT_DATA_DIGEST`, and the TEE name in `KBS_TEE`; it must print the evidence JSON on
 * stdout and exit 0.
 *
 * @example commandAttester('snp', 'tsx make-snp-evidence.ts')
 */
export function commandAttester(tee: string, command: string, options: CommandAttesterOptions = {}): Attester {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const maxOutputBytes = options.maxOutputBytes ?? 16 * 1024 * 1024;
  return {
    tee,
    getEvidence(reportData, initDataDigest) {
      const reportHex = Buffer.from(reportData).toString('hex');
      const initHex = initDataDigest === undefined ? undefined : Buffer.from(initDataDigest).toString('hex');
      const args = initHex === undefined ? [reportHex] : [reportHex, initHex];
      const env: NodeJS.ProcessEnv = { ...process.env, KBS_REPORT_DATA: reportHex, KBS_TEE: tee };
      if (initHex !== undefined) env.KBS_INIT_DATA_DIGEST = initHex;
      else delete env.KBS_INIT_DATA_DIGEST;
      return new Promise((resolve, reject) => {
        const child = spawn('/bin/sh', ['-c', `${command} "$@"`, 'evidence-command', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
        const stdout: Buffer[] = [];
        let stderr = '';
        let size = 0;
        child.stdout.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxOutputBytes) child.kill();
          else stdout.push(chunk);
        });
        child.stderr.on('data', (chunk: Buffer) => {
          stderr = (stderr + chunk.toString('utf8')).slice(-2000);
        });
        child.on('error', (error) => reject(new KbsClientError('evidence', `evidence command failed to start: ${error.message}`, { cause: error })));
        child.on('close', (code, signal) => {
          if (code !== 0) {
            reject(new KbsClientError('evidence', `evidence command exited with ${code === null ? `signal ${String(signal)}` : `status ${code}`}${stderr === '' ? '' : `: ${stderr.trim()}`}`));
            return;
          }
          try {
            resolve(JSON.parse(Buffer.concat(stdout).toString('utf8')) as unknown);
          } catch {
            reject(new KbsClientError('evidence', 'evidence command did not print valid JSON'));
          }
        });
      });
    },
  };
}
