/** Runs the kbs-client CLI as a process, the way an operator or a guest script would. */
import { spawn } from 'node:child_process';
import { CLI_MAIN, TSX_BIN } from './paths.ts';

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunCliOptions {
  /** Working directory; defaults to a directory with no admin-token file in it. */
  readonly cwd: string;
  /** HOME for the CLI (its admin-token fallback is $HOME/.trustee/admin-token). */
  readonly home?: string;
  readonly timeoutMs?: number;
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Run `node --import tsx cli.ts` (the program the `tsx` binary runs, without its extra wrapper
   * process: ~0.4 s less per call). `--import tsx` resolves from `cwd`, so `cwd` must be inside
   * the repository.
   */
  readonly nodeImportTsx?: boolean;
}

export function runCli(args: readonly string[], options: RunCliOptions): Promise<CliResult> {
  const [command, argv] = options.nodeImportTsx === true ? [process.execPath, ['--import', 'tsx', CLI_MAIN, ...args]] : [TSX_BIN, [CLI_MAIN, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, {
      cwd: options.cwd,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HOME: options.home ?? options.cwd, NO_COLOR: '1', ...options.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      reject(new Error(`kbs-client ${args.join(' ')} timed out:\n${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Formats a CLI result for assertion messages. */
export function describeCli(result: CliResult): string {
  return `exit ${String(result.code)}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
}
