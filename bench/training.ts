/**
 * Whole training steps: samples per second (wall clock over steps queued back
 * to back, after warm-up), the step's GPU time against the sum of its
 * kernels' times, dispatches and submits, GPU objects created per step after
 * warm-up, the memory against the analytic minimum, and the matmul variants
 * the step runs. The mlp preset is also timed on the importance-weighted
 * bound of 5 samples per input (inputs per second, against the ELBO's in the
 * same run: one encoder pass, a decoder on 5× the rows). Steps with a
 * statistics window every step and every 10 steps are timed with the window read the old
 * way (the queue drained) and with one window in flight (bench/windows.ts).
 */
import { countAllocations, type AllocationCounts } from '../src/gpu/allocations.ts';
import { callsReady } from '../src/gpu/dispatch.ts';
import { kernelProfile, type KernelProfile } from '../src/gpu/profile.ts';
import { canTime, timeCalls, timePass } from '../src/gpu/timing.ts';
import { gpuWait } from '../src/gpu/wait.ts';
import { parseObjective } from '../src/graph/objective.ts';
import type { Dataset } from '../src/data/dataset.ts';
import { SPECIAL_IDS } from '../src/data/tokens.ts';
import { convPreset, cvaeMlpPreset, mlpPreset, resconvPreset, sequencePreset, type ModelSpec } from '../src/model/spec.ts';
import { initParams, TrainingSession, type MatmulChoice, type SessionMemory } from '../src/train/session.ts';
import { benchPixels } from './data.ts';
import { timeTwoChunks, type Chunk } from './timing.ts';
import { benchWindows, benchWindowsShortSteps, type ShortStepWindows, type WindowsBench } from './windows.ts';

export interface TrainResult {
  readonly model: string;
  readonly batch: number;
  /** The training objective: elbo, or iwae:K (samples per second then counts inputs, each decoded K times). */
  readonly objective: string;
  readonly samplesPerSecond: number;
  /** For an objective other than the ELBO: samplesPerSecond over the ELBO's of the same model in this run. */
  readonly overElbo: number | null;
  /** Wall-clock milliseconds per step, steps queued back to back (the faster of two chunks, each ≥ 20 steps or ≥ 5 s; bench/timing.ts). */
  readonly stepMs: number;
  readonly timedSteps: number;
  readonly chunks: readonly Chunk[];
  /** The kernel profile of the device (src/gpu/profile.ts): which defaults the products got. */
  readonly kernelProfile: KernelProfile;
  readonly dispatchesPerStep: number;
  readonly submitsPerStep: number;
  /** GPU time of the step's one compute pass (timestamps, fastest of 3; null without them). */
  readonly stepGpuMs: number | null;
  /** Sum of the step's kernels' times, each in a pass of its own (timestamps, fastest of 3 rounds; null without them). */
  readonly kernelMs: number | null;
  /** stepMs / kernelMs: the target is ≤ 1.15. */
  readonly stepOverKernels: number | null;
  /** stepGpuMs / kernelMs: the same on the GPU's clock alone (no CPU-side submit or wait). */
  readonly passOverKernels: number | null;
  /** kernelMs / stepMs. */
  readonly kernelShare: number | null;
  /** GPU objects (buffers, bind groups, pipelines, ...) created by steps after warm-up, per step. */
  readonly allocationsPerStep: number;
  readonly allocations: AllocationCounts;
  readonly memory: SessionMemory;
  /**
   * All the step's memory over the analytic minimum (parameters + gradients + optimizer
   * state + batch and scratch + the temporaries live at the worst node of the schedule;
   * the target is ≤ 1.25), and the temporaries alone over that peak.
   */
  readonly memoryOverMinimum: number;
  readonly temporariesOverPeak: number;
  /** Temporaries with a buffer each (no reuse), and all the step's memory that way. */
  readonly naiveBytes: number;
  readonly memoryWithoutReuse: number;
  readonly memoryWithoutReuseOverMinimum: number;
  /** The kernel each product ran and why: the profile's default, or the autotune's choice for its shape or shape class. */
  readonly matmulChoices: readonly (MatmulChoice & { readonly why: 'default' | 'autotuned' })[];
  /** Each kernel of the step in order with its GPU milliseconds (its own pass, fastest of the rounds; empty without timestamps). */
  readonly kernels: readonly { readonly label: string; readonly ms: number }[];
  /** Steps with a statistics window every step and every 10 steps (only 10 with --quick): the window read draining the queue (old) against one window in flight. */
  readonly windows: readonly WindowsBench[];
  /** With the mlp only: the same on a small mlp whose steps are short, where a drain's turnaround shows. */
  readonly windowsShortSteps: ShortStepWindows | null;
}

/** The benchmark models: the presets, with the peers' latent size of 20 for conv too; the mlp on IWAE K = 5 after its ELBO run. */
export const BENCH_MODELS: readonly (readonly [name: string, spec: ModelSpec, batch: number, objective?: string])[] = [
  ['mlp', mlpPreset(), 128],
  ['mlp-iwae5', mlpPreset(), 128, 'iwae:5'],
  ['conv', convPreset({ latent: 20 }), 64],
  ['cvae-mlp', cvaeMlpPreset(10), 128],
  ['resconv', resconvPreset(), 128],
  // The smiles preset as `train --dataset smiles` builds it: 66 steps (65 tokens and END), 32 tokens.
  ['smiles', sequencePreset({ steps: 66, vocab: 32, decoder: 'gru', wordDropout: 0.3 }), 128],
];

/**
 * A batch-sized stand-in for the model's data: pixel bytes, or for a token
 * model sequences of 20 to 65 ids past the specials, END, then padding.
 */
function benchData(spec: ModelSpec, count: number): Dataset {
  const D = spec.input.reduce((a, b) => a * b, 1);
  if (spec.extraInputs?.prev?.type !== 'previous-tokens') {
    const classes = Object.values(spec.extraInputs ?? {}).find((e) => e.type === 'label')?.classes;
    const labels = classes === undefined ? null : Int32Array.from({ length: count }, (_, i) => (i * 7) % classes);
    return { name: 'bench', shape: spec.input, count, data: benchPixels(count * D), labels, ...(classes === undefined ? {} : { classes: Array.from({ length: classes }, (_, i) => String(i)) }) };
  }
  const [T, V] = spec.input as [number, number];
  return { name: 'bench', shape: [T], count, data: benchTokenIds(count, T, V), labels: null, tokens: { vocab: V, ids: SPECIAL_IDS } };
}

/** `count` rows of T token ids: 20 to T - 1 ids past the specials, END, then padding (the peers train on the same rows). */
export function benchTokenIds(count: number, T: number, V: number): Float32Array {
  const ids = new Float32Array(count * T);
  for (let r = 0; r < count; r++) {
    const len = 20 + ((r * 17) % (T - 20));
    for (let t = 0; t < len; t++) ids[r * T + t] = 4 + ((r * 7 + t * 13) % (V - 4));
    ids[r * T + len] = SPECIAL_IDS.end;
  }
  return ids;
}

const MiB = (b: number) => (b / 2 ** 20).toFixed(2);

const describeWindows = (w: WindowsBench) =>
  `  a statistics window every ${w.every} step${w.every > 1 ? 's' : ''}: read draining the queue (a staging buffer per window, as before) ${w.oldSamplesPerSecond.toFixed(1)} samples/s; ` +
  `through the ring, drained ${w.drainedSamplesPerSecond.toFixed(1)}, one window in flight ${w.inFlightSamplesPerSecond.toFixed(1)}: ${w.inFlightOverOld.toFixed(3)}× the old way, ${w.inFlightOverDrained.toFixed(3)}× the ring drained ` +
  `(fastest of ${w.rounds} rounds of ${w.windows} windows; medians of round-by-round ratios ${w.medianInFlightOverOld.toFixed(3)}× and ${w.medianInFlightOverDrained.toFixed(3)}×)`;

/** Samples per second of whole training steps, and where the step's time and memory go. */
export async function benchTraining(device: GPUDevice, log: (s: string) => void = () => {}, opts: { quick?: boolean; autotune?: boolean; models?: readonly string[] } = {}): Promise<TrainResult[]> {
  const out: TrainResult[] = [];
  for (const [name, spec, batch, objective = 'elbo'] of BENCH_MODELS) {
    if (opts.models && !opts.models.includes(name)) continue;
    const s = await TrainingSession.create(
      device,
      { spec, batch, optimizer: { type: 'adam', lr: 1e-3 }, loss: { beta: 1, freeBits: 0, latentL2: 0, seed: 1, objective: parseObjective(objective) }, autotune: !!opts.autotune },
      (l) => log(`  ${l}`),
    );
    try {
      s.setParams(initParams(s.graph, 1));
      s.attachData(benchData(spec, batch * 4));
      const knobs = { beta: 1, lr: 1e-3 };
      // The step's own kernels, not the stand-ins that run while they compile (bench/startup.ts measures those).
      await callsReady(s.stepCalls());
      let t = performance.now();
      for (let i = 0; i < 2; i++) {
        t = performance.now();
        s.runStep(knobs, i % 4);
        await gpuWait(() => device.queue.onSubmittedWorkDone());
      }
      const once = performance.now() - t;
      const counted = 3;
      const alloc = await countAllocations(device, async () => {
        for (let i = 0; i < counted; i++) s.runStep(knobs, i % 4);
        await gpuWait(() => device.queue.onSubmittedWorkDone());
      });
      // Two chunks of steps queued back to back, the faster one counts, by the peers' rule (bench/timing.ts).
      const timing = await timeTwoChunks(async (n) => {
        const t0 = performance.now();
        for (let i = 0; i < n; i++) s.runStep(knobs, i % 4);
        await gpuWait(() => device.queue.onSubmittedWorkDone());
        return performance.now() - t0;
      }, once);
      const { stepMs, steps: n } = timing;
      const windows: WindowsBench[] = [];
      for (const every of opts.quick ? [10] : [1, 10]) windows.push(await benchWindows(s, batch, stepMs, opts.quick ? { every, rounds: 2, budgetMs: 1500 } : { every }));
      const windowsShortSteps = name === 'mlp' ? await benchWindowsShortSteps(device, opts.quick ? 3 : 9) : null;
      const calls = s.stepCalls();
      // Interleaved rounds, the fastest of each kind: on a shared machine interference only slows a run down.
      let kernelMs: number | null = null, stepGpuMs: number | null = null;
      let perKernel: number[] = [];
      for (let round = 0; round < 3 && canTime(device); round++) {
        const each = await timeCalls(device, calls, 1);
        const k = each.reduce((a, b) => a + b, 0);
        const p = await timePass(device, calls, 1);
        perKernel = round === 0 ? each : perKernel.map((t, i) => Math.min(t, each[i]!));
        kernelMs = Math.min(kernelMs ?? Infinity, k);
        stepGpuMs = Math.min(stepGpuMs ?? Infinity, p);
      }
      const memory = s.memory();
      const naiveBytes = s.program.memory().naiveBytes;
      const memoryWithoutReuse = memory.totalBytes - memory.plannedBytes + naiveBytes;
      const samplesPerSecond = (batch * 1000) / stepMs;
      // The ELBO run of the same spec and batch in this run (the one before).
      const elbo = objective === 'elbo' ? null : out.find((x) => x.objective === 'elbo' && x.batch === batch && JSON.stringify(BENCH_MODELS.find((m) => m[0] === x.model)?.[1]) === JSON.stringify(spec));
      const r: TrainResult = {
        model: name, batch, objective, samplesPerSecond, overElbo: elbo ? samplesPerSecond / elbo.samplesPerSecond : null, stepMs, timedSteps: n, chunks: timing.chunks, kernelProfile: kernelProfile(device),
        dispatchesPerStep: s.dispatchesPerStep, submitsPerStep: 1,
        stepGpuMs, kernelMs, stepOverKernels: kernelMs === null ? null : stepMs / kernelMs, passOverKernels: kernelMs === null ? null : stepGpuMs! / kernelMs, kernelShare: kernelMs === null ? null : kernelMs / stepMs,
        allocationsPerStep: alloc.total / counted, allocations: alloc.counts,
        memory, memoryOverMinimum: memory.totalBytes / memory.minimumBytes, temporariesOverPeak: memory.plannedBytes / memory.peakLiveBytes,
        naiveBytes, memoryWithoutReuse, memoryWithoutReuseOverMinimum: memoryWithoutReuse / memory.minimumBytes,
        matmulChoices: s.matmulChoices.map((c) => ({ ...c, why: c.source === 'default' ? 'default' : 'autotuned' })),
        kernels: perKernel.map((ms, i) => ({ label: calls[i]!.label, ms })),
        windows, windowsShortSteps,
      };
      out.push(r);
      const k = kernelMs === null ? 'kernel times n/a (no timestamps)' : `kernels alone ${kernelMs.toFixed(1)} ms: step/kernels ${r.stepOverKernels!.toFixed(2)}× (target ≤ 1.15); the step's GPU pass ${stepGpuMs!.toFixed(1)} ms, ${r.passOverKernels!.toFixed(2)}× the kernels`;
      log(`train ${name} (batch ${batch}${objective === 'elbo' ? '' : `, ${objective}`}): ${r.samplesPerSecond.toFixed(1)} samples/s, step ${stepMs.toFixed(1)} ms (the faster of: ${timing.chunks.map((c) => `${c.steps} steps in ${(c.ms / 1000).toFixed(1)} s`).join(', ')}); ${k}`);
      if (r.overElbo !== null) log(`  ${objective} against the ELBO of the same model in this run: ${r.overElbo.toFixed(3)}× the inputs per second (${(1 / r.overElbo).toFixed(2)}× the time per input)`);
      else if (objective !== 'elbo') log(`  ${objective}: no ELBO run of the same model in this selection to compare with`);
      for (const w of r.windows) log(describeWindows(w));
      if (windowsShortSteps) {
        log(`  the same on ${windowsShortSteps.model} (batch ${windowsShortSteps.batch}, ${windowsShortSteps.stepMs.toFixed(1)} ms a step), where a drain's turnaround shows:`);
        for (const w of windowsShortSteps.windows) log(`  ${describeWindows(w)}`);
      }
      log(`  ${r.dispatchesPerStep} dispatches in ${r.submitsPerStep} submit; ${r.allocationsPerStep} GPU objects created per step after warm-up (${counted} steps counted)`);
      log(`  memory ${MiB(memory.totalBytes)} MiB vs the analytic minimum ${MiB(memory.minimumBytes)} MiB (parameters, gradients, optimizer state, batch and scratch: ${MiB(memory.minimumBytes - memory.peakLiveBytes)} MiB, + the temporaries live at the worst node of the schedule: ${MiB(memory.peakLiveBytes)} MiB): ${r.memoryOverMinimum.toFixed(3)}× (target ≤ 1.25); without reuse (a buffer per temporary: ${MiB(naiveBytes)} MiB) ${MiB(memoryWithoutReuse)} MiB, ${r.memoryWithoutReuseOverMinimum.toFixed(3)}×`);
      const variants = new Map<string, number>();
      for (const c of r.matmulChoices) {
        const key = `${c.variant} (${c.why === 'default' ? `${r.kernelProfile}-profile default` : `autotuned for its ${c.source}`})`;
        variants.set(key, (variants.get(key) ?? 0) + 1);
      }
      if (r.kernels.length) {
        const top = [...r.kernels].sort((a, b) => b.ms - a.ms).slice(0, 8);
        const sum = r.kernels.reduce((a, b) => a + b.ms, 0);
        log(`  slowest kernels: ${top.map((k) => `${k.label} ${k.ms.toFixed(2)} ms (${((100 * k.ms) / sum).toFixed(0)}%)`).join('; ')}`);
        const gru = r.kernels.filter((k) => /^gru/i.test(k.label)).reduce((a, b) => a + b.ms, 0);
        if (gru > 0) log(`  GRU recurrence kernels (forward and backward through time): ${gru.toFixed(1)} ms, ${((100 * gru) / sum).toFixed(0)}% of the step's kernels`);
      }
      log(`  matmul variants: ${[...variants].map(([v, c]) => `${c}× ${v}`).join(', ')}`);
    } finally {
      s.destroy();
    }
  }
  return out;
}
