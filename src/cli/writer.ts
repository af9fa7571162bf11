/**
 * What the commands that write a run folder share: the folder's lock, held
 * for the whole command and released on every way out (return, error,
 * process.exit, SIGINT, SIGTERM), and the adapter line every command prints.
 */
import { requestGpu, type GpuHandle } from '../gpu/device.ts';
import { acquireRunLock } from '../io/lock.ts';

export type StopSignal = 'SIGINT' | 'SIGTERM';

export interface RunWriter {
  /**
   * While training, the first SIGINT or SIGTERM calls `handler` (which stops
   * after the current step and saves) instead of ending the process; a second
   * one ends it at once. Returns the function that removes the handler.
   */
  onStop(handler: (signal: StopSignal) => void): () => void;
}

const EXIT_CODE: Record<StopSignal, number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * Runs `body` holding the lock of the run folder `dir` (see io/lock.ts): a
 * second writer is refused with one line, a stale lock is taken over with a
 * line on stderr. Outside a stop handler, SIGINT and SIGTERM release the lock
 * and end the process (checkpoints are written whole or not at all, so the
 * last one is intact).
 */
export async function withRunLock<T>(dir: string, command: string, body: (w: RunWriter) => Promise<T>): Promise<T> {
  const lock = acquireRunLock(dir, command, (m) => console.error(`webgpu-vae ${command}: ${m}`));
  let handler: ((signal: StopSignal) => void) | null = null;
  let stopping = false;
  const onSignal = (signal: StopSignal) => {
    if (handler && !stopping) {
      stopping = true;
      handler(signal);
      return;
    }
    lock.release();
    console.error(`webgpu-vae ${command}: stopped by ${signal}`);
    process.exit(EXIT_CODE[signal]);
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  const onExit = () => lock.release();
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  process.on('exit', onExit);
  try {
    return await body({
      onStop(h) {
        handler = h;
        return () => {
          if (handler === h) handler = null;
        };
      },
    });
  } finally {
    process.removeListener('SIGINT', onInt);
    process.removeListener('SIGTERM', onTerm);
    process.removeListener('exit', onExit);
    lock.release();
  }
}

/** The exit status of a run stopped by `signal`. */
export const stopExitCode = (signal: StopSignal): number => EXIT_CODE[signal];

/**
 * Opens the GPU and gives the one line that says which adapter was chosen
 * and why ("adapter: <adapter>; <why>").
 */
export async function openGpu(): Promise<{ gpu: GpuHandle; line: string; reason: string }> {
  let reason = '';
  const gpu = await requestGpu({ log: (m) => (reason = m) });
  return { gpu, reason, line: `adapter: ${gpu.summary}${reason ? `; ${reason}` : ''}` };
}
