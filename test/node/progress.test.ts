/**
 * The training progress line, fed made-up step events: the count and the bar
 * are the epoch's own steps, the ETA is the epoch's steps left at the speed of
 * the last windows (right from the first event of every epoch, never 0 while
 * steps are left), and the output is redrawn on a terminal and throttled in a
 * log file.
 */
import { test } from 'node:test';
import { formatDuration, progressBar, progressOutput, ProgressView, type ProgressEvent } from '../../src/cli/progress.ts';
import { expect } from '../support/check.ts';

const ev = (epoch: number, stepInEpoch: number, samplesPerSecond: number, stepsPerEpoch = 66): ProgressEvent => ({
  epoch, stepInEpoch, stepsPerEpoch, samplesPerSecond, loss: 204.737, recon: 197.481, kl: 7.256, beta: 1,
});

/** The count, the ETA and the samples/s of a line. */
function fields(line: string): { count: string; eta: string; sps: string; bar: string } {
  const m = /^epoch \d+\/\d+ \|([█░]+)\| (\d+\/\d+) steps \| .* \| (\d+) samples\/s \| ETA (.+)$/.exec(line);
  if (!m) throw new Error(`not a progress line: ${line}`);
  return { bar: m[1]!, count: m[2]!, sps: m[3]!, eta: m[4]! };
}

test('progress: the count and bar are the epoch\'s steps; the ETA is the epoch\'s steps left × batch / samples/s', () => {
  // Batch 128 at 1280 samples/s: 10 steps per second.
  const v = new ProgressView(3, 128);
  const l1 = v.line(ev(1, 10, 1280));
  expect(l1.startsWith('epoch 1/3 |'), l1);
  expect(fields(l1).count === '10/66' && fields(l1).eta === '6s' && fields(l1).sps === '1280', `first event: ${l1}`); // 56 steps left: 5.6 s
  expect(fields(l1).bar === '████░░░░░░░░░░░░░░░░░░░░', `bar at 10/66: ${fields(l1).bar}`);
  expect(l1.includes('| loss 204.74 recon 197.48 KL 7.26 β 1.000 |'), l1);
  const l2 = v.line(ev(1, 60, 1280));
  expect(fields(l2).count === '60/66' && fields(l2).eta === '1s', `near the end: ${l2}`);
  const end = v.line(ev(1, 66, 1280));
  expect(fields(end).count === '66/66' && fields(end).eta === '0s' && fields(end).bar === '█'.repeat(24), `end of epoch: ${end}`);
  // The next epoch starts over at its own first steps, and its ETA is right at once.
  const e2 = v.line(ev(2, 10, 1280));
  expect(e2.startsWith('epoch 2/3 |') && fields(e2).count === '10/66' && fields(e2).eta === '6s', `epoch 2: ${e2}`);
});

test('progress: the speed is the mean time per step over the last windows, and the ETA and samples/s agree', () => {
  const v = new ProgressView(2, 100, 24, 3);
  v.line(ev(1, 10, 1000)); // 0.1 s per step
  v.line(ev(1, 20, 500)); // 0.2 s per step
  const l = fields(v.line(ev(1, 30, 2000 / 3))); // 0.15 s per step
  // Mean 0.15 s per step: 100 / 0.15 = 667 samples/s; 36 steps left: 5.4 s.
  expect(l.sps === '667' && l.eta === '6s', `samples/s ${l.sps}, ETA ${l.eta}`);
  expect(Math.abs(v.etaSeconds({ stepInEpoch: 30, stepsPerEpoch: 66 }) - (36 * 100) / v.samplesPerSecond) < 1e-9, 'ETA = steps left × batch / samples/s');
  // Only the last 3 windows count: after three fast windows the slow one is forgotten.
  for (const s of [30, 40, 50]) v.line(ev(1, s, 2000));
  const f = fields(v.line(ev(1, 56, 2000)));
  expect(f.sps === '2000' && f.eta === '1s', `after the window moved on: ${f.sps} samples/s, ETA ${f.eta}`); // 10 steps × 0.05 s
  // A run resumed in the middle of an epoch counts from where it is.
  const r = new ProgressView(5, 128);
  const rl = fields(r.line(ev(4, 40, 640)));
  expect(rl.count === '40/66' && rl.eta === formatDuration((26 * 128) / 640), `resumed: ${rl.count}, ETA ${rl.eta}`);
});

test('progress: durations, bars, and the output on a terminal and in a log file', () => {
  expect(formatDuration(0) === '0s' && formatDuration(5.2) === '6s' && formatDuration(59.5) === '1m 00s' && formatDuration(125) === '2m 05s' && formatDuration(3725) === '1h 02m', 'formatDuration');
  expect(progressBar(0, 10, 4) === '░░░░' && progressBar(5, 10, 4) === '██░░' && progressBar(10, 10, 4) === '████' && progressBar(3, 0, 4) === '░░░░', 'progressBar');
  // A terminal: each event redraws the line in place, cut to the width; clear() wipes it before other output.
  let tty = '';
  const t = progressOutput(new ProgressView(3, 128), { isTTY: true, columns: 40, write: (s: string) => (tty += s) }, () => 0);
  t.step(ev(1, 10, 1280));
  t.step(ev(1, 20, 1280));
  t.clear();
  const frames = tty.split('\r').filter((s) => s);
  expect(frames.length === 3 && frames.slice(0, 2).every((f) => f.endsWith('\x1b[K') && Array.from(f.replace('\x1b[K', '')).length === 39) && frames[2] === '\x1b[K', `terminal output: ${JSON.stringify(tty)}`);
  expect(!tty.includes('\n'), 'no new lines on a terminal');
  // A log file: the first event of each epoch, then a line at most every 5 s.
  let log = '';
  let now = 0;
  const o = progressOutput(new ProgressView(3, 128), { isTTY: false, write: (s: string) => (log += s) }, () => now, 5000);
  for (const [t0, epoch, step] of [[0, 1, 10], [1000, 1, 20], [4999, 1, 30], [5000, 1, 40], [6000, 1, 50], [6500, 2, 10], [7000, 2, 20]] as const) {
    now = t0;
    o.step(ev(epoch, step, 1280));
  }
  const lines = log.trim().split('\n');
  expect(lines.map((l) => `${l.slice(6, 9)} ${fields(l).count} ${fields(l).eta}`).join(', ') === '1/3 10/66 6s, 1/3 40/66 3s, 2/3 10/66 6s', `log lines: ${lines.join(' / ')}`);
  expect(!log.includes('\r') && !log.includes('\x1b'), 'no control characters in a log file');
});
