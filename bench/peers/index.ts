/**
 * The peers part of the benchmark suite (browser only): TensorFlow.js on
 * WebGPU and on WASM, and jax-js on WebGPU, each running the same two
 * training steps as ours in the same page, and the ratios of our samples/s
 * to theirs against the targets.
 */
import { PEER_BATCH, PEER_MODELS, timePeer, type PeerModel, type PeerResult } from './common.ts';
import { jaxStep, releaseJaxWebGpu, useJaxWebGpu } from './jax.ts';
import { releaseTfBackend, tfStep, useTfBackend } from './tfjs.ts';

/** Our throughput needed over each peer's. */
export const PEER_TARGETS = { 'tfjs-webgpu': 10, 'jax-js-webgpu': 2, 'tfjs-wasm': 1.5 } as const;
export type PeerName = keyof typeof PEER_TARGETS;

export interface PeerRatio {
  readonly model: PeerModel;
  readonly peer: PeerName;
  /** Our samples/s: the mean of the measurements before and after the peers. */
  readonly ours: number;
  readonly theirs: number | null;
  /** ours / theirs (null when the peer could not run). */
  readonly ratio: number | null;
  /** The ratio with our lower and our higher measurement. */
  readonly ratioRange: readonly [number, number] | null;
  readonly target: number;
  /** 'yes' when even our lower measurement meets the target, 'no' when even the higher misses it. */
  readonly met: 'yes' | 'no' | 'uncertain' | 'not run';
  readonly error?: string;
}

export interface PeersBench {
  readonly runtimes: Readonly<Record<string, string>>;
  /** Our samples/s measured before and after the peers (machine load drifts over a run). */
  readonly oursBefore: Readonly<Record<PeerModel, number>>;
  readonly oursAfter: Readonly<Record<PeerModel, number>>;
  readonly runs: readonly PeerResult[];
  readonly ratios: readonly PeerRatio[];
  /** Peers that ran but whose loss did not fall over the timed steps: the benchmark fails (exit status 1) after saving its results. */
  readonly failures: readonly string[];
}

type Log = (s: string) => void;

function line(r: PeerResult): string {
  if (r.trained === false) return `peer ${r.peer.padEnd(14)} ${r.model.padEnd(5)} FAILED: ${r.error}`;
  if (r.samplesPerSecond === null) return `peer ${r.peer.padEnd(14)} ${r.model.padEnd(5)} could not run: ${r.error}`;
  const chunks = r.chunks.map((c) => `${c.steps} steps in ${(c.ms / 1000).toFixed(1)} s`).join(', ');
  return `peer ${r.peer.padEnd(14)} ${r.model.padEnd(5)} (batch ${r.batch}): ${r.samplesPerSecond.toFixed(1)} samples/s, step ${r.stepMs!.toFixed(1)} ms (the faster of: ${chunks}); loss on batch ${r.lossBatch} ${r.firstLoss!.toFixed(1)} at warm-up -> ${r.lastLoss!.toFixed(1)} after the timed steps`;
}

/**
 * Runs every peer on both models. `before` is our samples/s per model measured
 * just before in the same page; `remeasure` measures ours again after the
 * peers. The ratios use the mean of the two, with the range they span: a
 * target counts as met only when both meet it (machine load drifts over a run).
 */
export async function benchPeers(before: Readonly<Record<PeerModel, number>>, remeasure: () => Promise<Record<PeerModel, number>>, log: Log): Promise<PeersBench> {
  const runs: PeerResult[] = [];
  const runtimes: Record<string, string> = {};
  const run = async (peer: PeerName, start: () => Promise<string>, make: (m: PeerModel) => () => Promise<import('./common.ts').PeerStep>, stop: () => void) => {
    let started: string | Error;
    try {
      started = await start();
      runtimes[peer] = started;
      log(`peer ${peer}: ${started}`);
    } catch (e) {
      started = e as Error;
      runtimes[peer] = `not started: ${started.message}`;
    }
    for (const model of PEER_MODELS) {
      const r = started instanceof Error
        ? { peer, model, batch: PEER_BATCH[model], samplesPerSecond: null, stepMs: null, timedSteps: 0, chunks: [], firstLoss: null, lastLoss: null, lossBatch: null, trained: null, error: `the runtime did not start: ${started.message}` }
        : await timePeer(peer, model, make(model));
      runs.push(r);
      log(line(r));
    }
    try {
      stop();
    } catch (e) {
      log(`peer ${peer}: could not release its runtime: ${(e as Error).message}`);
    }
  };
  await run('tfjs-webgpu', () => useTfBackend('webgpu'), (m) => async () => tfStep(m), () => releaseTfBackend('webgpu'));
  await run('tfjs-wasm', () => useTfBackend('wasm'), (m) => async () => tfStep(m), () => releaseTfBackend('wasm'));
  await run('jax-js-webgpu', useJaxWebGpu, (m) => async () => jaxStep(m), releaseJaxWebGpu);
  log('ours again, after the peers:');
  const after = await remeasure();
  const ratios: PeerRatio[] = [];
  for (const model of PEER_MODELS) {
    const lo = Math.min(before[model], after[model]), hi = Math.max(before[model], after[model]), ours = (lo + hi) / 2;
    for (const peer of Object.keys(PEER_TARGETS) as PeerName[]) {
      const r = runs.find((x) => x.peer === peer && x.model === model)!;
      const theirs = r.samplesPerSecond;
      const target = PEER_TARGETS[peer];
      const range = theirs === null ? null : ([lo / theirs, hi / theirs] as const);
      const met = range === null ? 'not run' : range[0] >= target ? 'yes' : range[1] < target ? 'no' : 'uncertain';
      ratios.push({ model, peer, ours, theirs, ratio: theirs === null ? null : ours / theirs, ratioRange: range, target, met, ...(r.error ? { error: r.error } : {}) });
    }
  }
  log(ratioTable(ratios));
  const failures = runs.filter((r) => r.trained === false).map((r) => `${r.peer} ${r.model}: ${r.error}`);
  for (const f of failures) log(`FAILED: ${f}`);
  return { runtimes, oursBefore: before, oursAfter: after, runs, ratios, failures };
}

/** The ratio table as text. */
export function ratioTable(ratios: readonly PeerRatio[]): string {
  const rows = [
    'ours: the mean of our samples/s before and after the peers; range: the ratio with the lower and the higher of the two',
    'model  ours/peer           ours s/s   peer s/s    ratio         range  target  met',
  ];
  for (const r of ratios) {
    const peer = r.theirs === null ? 'n/a'.padStart(9) : r.theirs.toFixed(1).padStart(9);
    const ratio = r.ratio === null ? 'n/a'.padStart(7) : `${r.ratio.toFixed(2)}×`.padStart(7);
    const range = r.ratioRange === null ? ''.padStart(13) : `${r.ratioRange[0].toFixed(2)}–${r.ratioRange[1].toFixed(2)}×`.padStart(13);
    const met = r.met === 'not run' ? `not run (${r.error})` : r.met;
    rows.push(`${r.model.padEnd(6)} ours/${r.peer.padEnd(14)}${r.ours.toFixed(1).padStart(10)} ${peer} ${ratio} ${range} ${`≥${r.target}×`.padStart(6)}  ${met}`);
  }
  return rows.join('\n');
}
