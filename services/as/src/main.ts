/**
 * `pnpm as` entry point: the service (default) and the offline tools.
 *
 *   pnpm as --config-file F --socket HOST:PORT [--rest-socket HOST:PORT]   serve gRPC (+ REST)
 *   pnpm as verify --tee T --evidence FILE [...]                            verify evidence offline
 *   pnpm as collateral export|import --config-file F --out|--in DIR         offline collateral bundles
 *
 * Exit codes: 0 success, 1 rejection or runtime failure, 2 usage or configuration error.
 */
import 'reflect-metadata';
import { runCollateral } from './collateralCli.ts';
import { ConfigError } from './config.ts';
import { UsageError } from '@trustee/errors';
import { runServe } from './serve.ts';
import { runVerify } from './verifyCli.ts';

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'verify') return runVerify(rest, { stdout: process.stdout, stderr: process.stderr });
  if (command === 'collateral') return runCollateral(rest, { stdout: process.stdout, stderr: process.stderr });
  return runServe(command === 'serve' ? rest : argv);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const usage = error instanceof UsageError || error instanceof ConfigError;
    console.error(`error: ${(error as Error).message ?? String(error)}`);
    process.exit(usage ? 2 : 1);
  },
);
