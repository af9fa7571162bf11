/**
 * The peers part of the benchmark suite (browser only): TensorFlow.js on
 * WebGPU and on WASM, and jax-js on WebGPU, each running the same training
 * steps as ours (mlp, conv, smiles) in the same page, and the ratios of our
 * samples/s to theirs against each model's targets.
 */
import { PEER_BATCH, peerRatios, ratioTable, timePeer, type PeerModel, type PeerName, type PeerRatio, type PeerResult, type PeerStep } from './common.ts';
import { jaxStep, releaseJaxWebGpu, useJaxWebGpu } from './jax.ts';
import { releaseTfBackend, tfStep, useTfBackend } from './tfjs.ts';

export { PEER_TARGETS, ratioTable, type PeerName, type PeerRatio } from './common.ts';

export interface PeersBench {
  readonly runtimes: Readonly<Record<string, string>>;
  /** Our samples/s measured before and after the peers (machine load drifts over a run). */
  readonly oursBefore: Readonly<Partial<Record<PeerModel, number>>>;
  readonly oursAfter: Readonly<Partial<Record<PeerModel, number>>>;
  readonly runs: readonly PeerResult[];
  readonly ratios: readonly PeerRatio[];
  /** Peers that ran but whose loss did not fall over the timed steps: the benchmark fails (exit status 1) after saving its results. */
  readonly failures: readonly string[];
}

type Log = (s: string) => void;

function line(r: PeerResult): string {
  if (r.trained === false) return `peer ${r.peer.padEnd(14)} ${r.model.padEnd(6)} FAILED: ${r.error}`;
  if (r.samplesPerSecond === null) return `peer ${r.peer.padEnd(14)} ${r.model.padEnd(6)} could not run: ${r.error}`;
  const chunks = r.chunks.map((c) => `${c.steps} steps in ${(c.ms / 1000).toFixed(1)} s`).join(', ');
  return `peer ${r.peer.padEnd(14)} ${r.model.padEnd(6)} (batch ${r.batch}): ${r.samplesPerSecond.toFixed(1)} samples/s, step ${r.stepMs!.toFixed(1)} ms (the faster of: ${chunks}); loss on batch ${r.lossBatch} ${r.firstLoss!.toFixed(1)} at warm-up -> ${r.lastLoss!.toFixed(1)} after the timed steps`;
}

/**
 * Runs every peer on `models`. `before` is our samples/s per model measured
 * just before in the same page; `remeasure` measures ours again after the
 * peers. The ratios use the mean of the two, with the range they span: a
 * target counts as met only when both meet it (machine load drifts over a run).
 */
export async function benchPeers(models: readonly PeerModel[], before: Readonly<Partial<Record<PeerModel, number>>>, remeasure: () => Promise<Partial<Record<PeerModel, number>>>, log: Log): Promise<PeersBench> {
  const runs: PeerResult[] = [];
  const runtimes: Record<string, string> = {};
  const run = async (peer: PeerName, start: () => Promise<string>, make: (m: PeerModel) => () => Promise<PeerStep>, stop: () => void) => {
    let started: string | Error;
    try {
      started = await start();
      runtimes[peer] = started;
      log(`peer ${peer}: ${started}`);
    } catch (e) {
      started = e as Error;
      runtimes[peer] = `not started: ${started.message}`;
    }
    for (const model of models) {
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
  const ratios: PeerRatio[] = peerRatios(models, before, after, runs);
  log(ratioTable(ratios));
  const failures = runs.filter((r) => r.trained === false).map((r) => `${r.peer} ${r.model}: ${r.error}`);
  for (const f of failures) log(`FAILED: ${f}`);
  return { runtimes, oursBefore: before, oursAfter: after, runs, ratios, failures };
}
