#!/usr/bin/env node
// Fast client of a running evidence server (tests/e2e/src/harness/evidenceCli.ts serve): plain
// Node, no TypeScript loader, so a kbs-client --evidence-command costs ~0.1 s instead of ~0.5 s.
//   node evidence-client.mjs --tee TEE --anchors-dir DIR [--force-report-data HEX] [--force-init-data HEX] [--tamper] [--variant NAME] REPORT_DATA_HEX [INIT_DATA_DIGEST_HEX]
// Same request protocol as evidenceCli.ts; it never starts a server (the test owns it).
import { createConnection } from 'node:net';
import process from 'node:process';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const HEX = /^(?:[0-9a-fA-F]{2}){1,128}$/;

function hexArg(value, what) {
  if (value === undefined || value === '') return undefined;
  if (!HEX.test(value)) throw new Error(`${what} must be 1..128 bytes of hex`);
  return value.toLowerCase();
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { tee: { type: 'string' }, 'anchors-dir': { type: 'string' }, 'force-report-data': { type: 'string' }, 'force-init-data': { type: 'string' }, tamper: { type: 'boolean' }, variant: { type: 'string' } },
});
try {
  if (values.tee === undefined || values['anchors-dir'] === undefined) throw new Error('--tee and --anchors-dir are required');
  const reportData = hexArg(values['force-report-data'], '--force-report-data') ?? hexArg(positionals[0] ?? process.env.KBS_REPORT_DATA, 'REPORT_DATA_HEX');
  if (reportData === undefined) throw new Error('REPORT_DATA_HEX is required');
  const initDataDigest = hexArg(values['force-init-data'], '--force-init-data') ?? hexArg(positionals[1] ?? process.env.KBS_INIT_DATA_DIGEST, 'INIT_DATA_DIGEST_HEX');
  const socket = createConnection(join(resolve(values['anchors-dir']), 'evidence.sock'));
  let data = '';
  socket.setEncoding('utf8');
  socket.once('connect', () => socket.write(`${JSON.stringify({ tee: values.tee, reportData, ...(initDataDigest === undefined ? {} : { initDataDigest }), ...(values.tamper === true ? { tamper: true } : {}), ...(values.variant === undefined ? {} : { variant: values.variant }) })}\n`));
  socket.on('data', (chunk) => (data += chunk));
  socket.once('error', (error) => {
    process.stderr.write(`evidence-client: no evidence server: ${error.message}\n`);
    process.exitCode = 1;
  });
  socket.once('close', () => {
    if (process.exitCode === 1) return;
    const reply = JSON.parse(data || '{}');
    if (reply.evidence === undefined) {
      process.stderr.write(`evidence-client: ${reply.error ?? 'empty reply'}\n`);
      process.exitCode = 1;
      return;
    }
    process.stdout.write(`${JSON.stringify(reply.evidence)}\n`);
  });
} catch (error) {
  process.stderr.write(`evidence-client: ${error.message}\n`);
  process.exitCode = 2;
}
