#!/usr/bin/env node
// Entry point: `pnpm kbs-client ...` (tsx packages/kbs-client/src/cli.ts).
import { runCli } from './runCli.ts';

process.exitCode = await runCli(process.argv.slice(2));
