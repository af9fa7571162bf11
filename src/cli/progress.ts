/**
 * The training progress line: the epoch's own steps, a bar over them, the
 * losses of the last statistics window, the speed and the time left in the
 * epoch. The speed is the mean over the last few windows (carried across
 * epochs), and the ETA is the epoch's steps left at that speed, so it is
 * right from the first window of every epoch. The same line is redrawn in
 * place on a terminal and printed every few seconds to a log file.
 */
import type { StepEvent } from '../train/trainer.ts';

/** The fields of a step event the line shows. */
export type ProgressEvent = Pick<StepEvent, 'epoch' | 'stepInEpoch' | 'stepsPerEpoch' | 'loss' | 'recon' | 'kl' | 'beta' | 'samplesPerSecond'>;

/** "7s", "2m 05s", "1h 02m". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** A bar of `width` cells, `done / total` of them filled. */
export function progressBar(done: number, total: number, width: number): string {
  const full = total > 0 ? Math.min(width, Math.max(0, Math.round((width * done) / total))) : 0;
  return '█'.repeat(full) + '░'.repeat(width - full);
}

/**
 * Turns step events into progress lines. Pure: the speed comes from the
 * events' own samples/s, so tests feed it made-up events.
 */
export class ProgressView {
  /** Seconds per step of the last windows. */
  private readonly recent: number[] = [];

  constructor(readonly epochs: number, readonly batch: number, readonly barWidth = 24, readonly windows = 5) {}

  /** The training speed over the last windows, in samples per second (0 before any). */
  get samplesPerSecond(): number {
    if (this.recent.length === 0) return 0;
    return this.batch / (this.recent.reduce((a, b) => a + b, 0) / this.recent.length);
  }

  /** Seconds until the end of the event's epoch at the current speed. */
  etaSeconds(e: Pick<ProgressEvent, 'stepInEpoch' | 'stepsPerEpoch'>): number {
    const sps = this.samplesPerSecond;
    return sps > 0 ? ((e.stepsPerEpoch - e.stepInEpoch) * this.batch) / sps : 0;
  }

  /** Records the event's window and gives its line. */
  line(e: ProgressEvent): string {
    if (e.samplesPerSecond > 0 && Number.isFinite(e.samplesPerSecond)) {
      this.recent.push(this.batch / e.samplesPerSecond);
      if (this.recent.length > this.windows) this.recent.shift();
    }
    return `epoch ${e.epoch}/${this.epochs} |${progressBar(e.stepInEpoch, e.stepsPerEpoch, this.barWidth)}| ${e.stepInEpoch}/${e.stepsPerEpoch} steps` +
      ` | loss ${e.loss.toFixed(2)} recon ${e.recon.toFixed(2)} KL ${e.kl.toFixed(2)} β ${e.beta.toFixed(3)}` +
      ` | ${this.samplesPerSecond.toFixed(0)} samples/s | ETA ${formatDuration(this.etaSeconds(e))}`;
  }
}

/** Where progress is written: a terminal (redrawn in place) or a log (a line every `everyMs`). */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ProgressOutput {
  step(e: ProgressEvent): void;
  /** Clears the terminal line, before other output. */
  clear(): void;
}

/**
 * Writes progress lines to `stream`. On a terminal the line is redrawn on
 * every event (cut to the terminal's width); otherwise a line is printed at
 * the first event of each epoch and then at most every `everyMs`.
 */
export function progressOutput(view: ProgressView, stream: ProgressStream, now: () => number = () => performance.now(), everyMs = 5000): ProgressOutput {
  let shown = false;
  let lastPrinted = -Infinity;
  let lastEpoch = -1;
  return {
    step(e) {
      const text = view.line(e);
      if (stream.isTTY) {
        const cols = stream.columns ?? 0;
        stream.write(`\r${cols > 1 ? Array.from(text).slice(0, cols - 1).join('') : text}\x1b[K`);
        shown = true;
        return;
      }
      const t = now();
      if (e.epoch !== lastEpoch || t - lastPrinted >= everyMs) {
        stream.write(`${text}\n`);
        lastPrinted = t;
        lastEpoch = e.epoch;
      }
    },
    clear() {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}
