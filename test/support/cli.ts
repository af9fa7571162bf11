/** The command line as a user runs it: `bin/webgpu-vae.mjs` in a child process, its exit code and output. */
import { spawn } from 'node:child_process';

export const CLI_BIN = new URL('../../bin/webgpu-vae.mjs', import.meta.url).pathname;

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** Sends SIGINT once stdout matches (as a user pressing Ctrl-C at that point). */
  readonly interruptOn?: RegExp;
}

/** Runs `webgpu-vae <args>` in `cwd` and collects what it printed. */
export function runCli(cwd: string, args: readonly string[], o: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '', sent = false;
    child.stdout.on('data', (d) => {
      stdout += d;
      if (o.interruptOn && !sent && o.interruptOn.test(stdout)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
