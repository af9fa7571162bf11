/** The command line as a user runs it: `bin/webgpu-vae.mjs` in a child process, its exit code and output. */
import { spawn } from 'node:child_process';

export const CLI_BIN = new URL('../../bin/webgpu-vae.mjs', import.meta.url).pathname;

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `webgpu-vae <args>` in `cwd` and collects what it printed. */
export function runCli(cwd: string, args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
