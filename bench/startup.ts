/**
 * Time to first step, cold: a fresh device (so an empty pipeline cache), the
 * mlp preset trained as `npm start` trains it (a Trainer with a device
 * factory, batch 128, Adam), timed from requestGpu() returning to the first
 * training step's completion on the GPU; then the same for the conv preset
 * (batch 64, latent 20, as bench/training.ts trains it), whose block kernels
 * are the slowest pipelines to compile. Also: how long making the trainer
 * took (graph, memory plan, the pipelines made at once, buffers, bind
 * groups), how many pipelines were made at once and how many compiled in the
 * background behind stand-ins, and when the last of those was ready.
 */
import { callsReady, setStandIns } from '../src/gpu/dispatch.ts';
import { requestGpu } from '../src/gpu/device.ts';
import { pipelineCount, pipelinesOf } from '../src/gpu/pipelines.ts';
import { convPreset, mlpPreset } from '../src/model/presets.ts';
import { Trainer, type TrainerConfig } from '../src/train/trainer.ts';
import { benchPixels } from './data.ts';

export interface StartupResult {
  readonly model: string;
  readonly batch: number;
  /** requestGpu() returning → the first training step finished on the GPU, in ms (the target is ≤ 3000 for the mlp). */
  readonly firstStepMs: number;
  /** Of which: making the trainer (the training step compiled, parameters initialized). */
  readonly constructMs: number;
  /** requestGpu() returning → every pipeline of the step made (the background compiles done), in ms. */
  readonly allPipelinesMs: number;
  /** Pipelines made before the first step, and compiled in the background while steps ran. */
  readonly pipelinesAtOnce: number;
  readonly pipelinesInBackground: number;
  /** Dispatches of the step, and how many of them ran a stand-in in the first step. */
  readonly dispatches: number;
  readonly standIns: number;
}

type StartupModel = 'mlp' | 'conv';

/** The mlp preset as `npm start` trains it (src/cli/config.ts's defaults); conv as bench/training.ts trains it. */
function startupConfig(model: StartupModel): TrainerConfig {
  return {
    spec: model === 'mlp' ? mlpPreset() : convPreset({ latent: 20 }), batch: model === 'mlp' ? 128 : 64, epochs: 1,
    optimizer: { type: 'adam', lr: 1e-3, weightDecay: 0, clipNorm: 0 }, beta: 1,
    klSchedule: { type: 'constant' }, lrSchedule: { type: 'constant' }, freeBits: 0, latentL2: 0, seed: 1, binarize: 'none', logEvery: 1,
  };
}

/**
 * Measures the time to first step on a device of its own (requested here,
 * destroyed at the end); with `standIns: false`, with every pipeline made
 * before the first step (no stand-ins), for a comparison in the same run.
 */
export async function startupOnce(log: (s: string) => void, standIns = true, model: StartupModel = 'mlp'): Promise<StartupResult> {
  const gpu = await requestGpu({ log: () => {} });
  const device = gpu.device;
  if (!standIns) setStandIns(device, false);
  const t0 = performance.now();
  let trainer: Trainer | null = null;
  try {
    const config = startupConfig(model);
    const count = 1024;
    const data = benchPixels(count * 784);
    trainer = new Trainer(device, config, { name: 'bench', shape: config.spec.input, count, data, labels: null }, null, { deviceFactory: async () => (await requestGpu({ log: () => {} })).device });
    const constructMs = performance.now() - t0;
    const pipelinesAtOnce = pipelineCount(device);
    const pipelinesInBackground = pipelinesOf(device).length - pipelinesAtOnce;
    const calls = trainer.session.stepCalls();
    const standIns = calls.filter((c) => c.pipeline.label !== `${c.entry.shader}.${c.entry.name}`).length;
    const stop = new AbortController();
    await trainer.run((e) => {
      if (e.type === 'step') stop.abort();
    }, stop.signal);
    const firstStepMs = (await trainer.firstStepDone!) - t0;
    await callsReady(calls);
    const allPipelinesMs = performance.now() - t0;
    const r: StartupResult = { model, batch: config.batch, firstStepMs, constructMs, allPipelinesMs, pipelinesAtOnce, pipelinesInBackground, dispatches: calls.length, standIns };
    log(
      `time to first step (${model}, batch ${config.batch}, ${standIns ? 'cold: a fresh device' : 'a fresh device, without stand-ins'}): ${(firstStepMs / 1000).toFixed(2)} s${standIns && model === 'mlp' ? ' (target ≤ 3 s)' : ''}; making the trainer ${(constructMs / 1000).toFixed(2)} s ` +
        `(${pipelinesAtOnce} pipelines made at once, ${pipelinesInBackground} compiled in the background; ${standIns} of ${calls.length} dispatches ran a stand-in at first); ` +
        `every pipeline ready after ${(allPipelinesMs / 1000).toFixed(2)} s`,
    );
    return r;
  } finally {
    trainer?.destroy();
    device.destroy();
  }
}

export interface StartupBench extends StartupResult {
  /** The same measured right after on another fresh device with stand-ins off (every pipeline made before the first step; the shader reflection is warm by then). */
  readonly withoutStandIns: StartupResult | null;
  /** The conv preset cold, measured last on a fresh device of its own (with stand-ins where there are any). */
  readonly conv: StartupResult;
}

/**
 * The time to first step, cold (the headline number), then without stand-ins
 * for comparison (only on adapters where there are any: the `cpu` profile),
 * then the conv preset's, cold.
 */
export async function benchStartup(log: (s: string) => void = () => {}): Promise<StartupBench> {
  const r = await startupOnce(log, true);
  const without = r.standIns > 0 ? await startupOnce(log, false) : null;
  if (without) log(`  stand-ins: the first step ${(without.firstStepMs / r.firstStepMs).toFixed(2)}× sooner (${(without.firstStepMs / 1000).toFixed(2)} s without them, measured second)`);
  const conv = await startupOnce(log, true, 'conv');
  return { ...r, withoutStandIns: without, conv };
}
