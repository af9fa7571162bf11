/**
 * What `npm run gpu-check` does on one runtime's device (Node/Dawn, or the
 * page in Chrome): the kernel cases under the device's own (`auto`) kernel
 * profile, a training smoke run on MNIST digits, the benchmark's `--kernels`
 * and `--train` parts with each rate next to a rough peak for the adapter,
 * the matmul kernel each product runs, and (not in quick mode) what the
 * matmul autotune would pick on this adapter. Runs in Node and in a page.
 */
import { subset, type Dataset } from '../../src/data/dataset.ts';
import type { GpuHandle } from '../../src/gpu/device.ts';
import type { KernelProfile } from '../../src/gpu/profile.ts';
import { clearMatmulTuning, tuneMatmul, VAE_MATMUL_SHAPES } from '../../src/kernels/autotune.ts';
import { mlpPreset } from '../../src/model/spec.ts';
import { Trainer, type EpochEvent } from '../../src/train/trainer.ts';
import { parseSelection, runSelection } from '../../bench/parts.ts';
import { benchKernels } from '../../bench/suite.ts';
import { benchMatmul } from '../../bench/matmul.ts';
import { benchTraining, type TrainResult } from '../../bench/training.ts';
import { benchStartup, type StartupBench } from '../../bench/startup.ts';
import { ALL_CASES } from '../../test/cases/index.ts';
import { peakFor, type PeakGuess } from './peaks.ts';

/** The kernel cases of quick mode: the whole-model gradient checks. */
export const QUICK_CASES = ['model: mlp gradients', 'model: conv gradients'];

export interface CaseReport {
  readonly total: number;
  readonly passed: number;
  readonly failures: readonly { readonly name: string; readonly error: string }[];
}

export interface SmokeReport {
  readonly model: string;
  readonly batch: number;
  readonly trainSamples: number;
  readonly epochs: number;
  readonly steps: number;
  /** Test loss (negative ELBO, nats per image) after each epoch. */
  readonly testLoss: readonly number[];
  readonly samplesPerSecond: number;
  readonly ok: boolean;
  readonly problem?: string;
}

export interface KernelRate {
  readonly name: string;
  readonly kernel: string | null;
  readonly why: string | null;
  readonly ms: number;
  readonly rate: number;
  readonly unit: 'GFLOP/s' | 'GB/s';
  /** The rough peak of the adapter's kind in the same unit, and the rate's share of it. */
  readonly peak: number | null;
  readonly shareOfPeak: number | null;
}

export interface MatmulChoiceReport {
  /** M x K x N and the transposes, e.g. `128x784x400:nt`. */
  readonly shape: string;
  readonly variant: string;
  readonly why: string;
  readonly products: readonly string[];
}

export interface RuntimeReport {
  readonly adapter: GpuHandle['adapterInfo'];
  readonly isSoftware: boolean;
  readonly kernelProfile: KernelProfile;
  readonly features: readonly string[];
  readonly limits: Readonly<Record<string, number>>;
  readonly peak: PeakGuess | null;
  readonly cases: CaseReport;
  readonly training: SmokeReport;
  readonly kernels: readonly KernelRate[];
  readonly trainingBench: readonly TrainResult[];
  /** Time to first step of the mlp preset on a fresh device (null in quick mode). */
  readonly startup: StartupBench | null;
  readonly matmulChoices: readonly MatmulChoiceReport[];
  readonly autotune: { readonly timing: string; readonly entries: readonly { readonly shape: string; readonly chosen: string; readonly ms: Readonly<Record<string, number>> }[] } | { readonly skipped: string };
  readonly seconds: Readonly<Record<string, number>>;
  /** Stages that threw (the report keeps what the others measured). */
  readonly errors: readonly string[];
}

function limitsOf(device: GPUDevice): Record<string, number> {
  const out: Record<string, number> = {};
  const l = device.limits as unknown as Record<string, unknown>;
  for (const k in l) if (typeof l[k] === 'number') out[k] = l[k] as number;
  return out;
}

async function runCases(device: GPUDevice, quick: boolean, log: (s: string) => void): Promise<CaseReport> {
  const cases = quick ? ALL_CASES.filter((c) => QUICK_CASES.some((q) => c.name.startsWith(q))) : ALL_CASES;
  const failures: { name: string; error: string }[] = [];
  for (const c of cases) {
    try {
      await c.run(device);
      log(`  ok   ${c.name}`);
    } catch (e) {
      failures.push({ name: c.name, error: (e as Error).message });
      log(`  FAIL ${c.name}: ${(e as Error).message}`);
    }
  }
  return { total: cases.length, passed: cases.length - failures.length, failures };
}

/** The mlp preset (784-400-20) on MNIST digits for a few epochs: the test loss must be finite and fall. */
async function smokeRun(device: GPUDevice, data: { train: Dataset; test: Dataset }, quick: boolean): Promise<SmokeReport> {
  const [n, nTest, batch, epochs] = quick ? [256, 64, 32, 2] : [4096, 1024, 128, 3];
  const pick = (ds: Dataset, k: number) => subset(ds, Uint32Array.from({ length: k }, (_, i) => Math.floor((i * ds.count) / k)));
  const config = {
    spec: mlpPreset(), batch, epochs, optimizer: { type: 'adam', lr: 1e-3 } as const, beta: 1, klSchedule: { type: 'constant' } as const,
    lrSchedule: { type: 'constant' } as const, freeBits: 0, latentL2: 0, seed: 1, binarize: 'none' as const, logEvery: 8,
  };
  const trainer = new Trainer(device, config, pick(data.train, n), pick(data.test, nTest));
  const epochsSeen: EpochEvent[] = [];
  try {
    await trainer.run((e) => {
      if (e.type === 'epoch') epochsSeen.push(e);
    });
  } finally {
    trainer.destroy();
  }
  const testLoss = epochsSeen.map((e) => e.test!.loss);
  const problems: string[] = [];
  if (!testLoss.every(Number.isFinite)) problems.push(`a test loss is not finite: ${testLoss.join(', ')}`);
  for (let i = 1; i < testLoss.length; i++) if (!(testLoss[i]! < testLoss[i - 1]!)) problems.push(`the test loss rose from epoch ${i} to ${i + 1}`);
  const skipped = epochsSeen.at(-1)?.skippedSteps ?? 0;
  if (skipped > 0) problems.push(`${skipped} updates were skipped for non-finite gradients`);
  const sps = epochsSeen.reduce((a, e) => a + e.samplesPerSecond, 0) / Math.max(1, epochsSeen.length);
  return {
    model: 'mlp', batch, trainSamples: n, epochs, steps: Math.floor(n / batch) * epochs, testLoss, samplesPerSecond: sps, ok: problems.length === 0,
    ...(problems.length ? { problem: problems.join('; ') } : {}),
  };
}

function matmulChoices(training: readonly TrainResult[]): MatmulChoiceReport[] {
  const by = new Map<string, { variant: string; why: string; products: string[] }>();
  for (const t of training) {
    for (const c of t.matmulChoices) {
      const e = by.get(c.key) ?? { variant: c.variant, why: c.why === 'default' ? `default of the '${t.kernelProfile}' kernel profile` : `autotuned (${c.source})`, products: [] };
      e.products.push(`${t.model}: ${c.label}`);
      by.set(c.key, e);
    }
  }
  return [...by].map(([shape, e]) => ({ shape, ...e }));
}

/** Everything gpu-check measures on one runtime's device (`log` gets progress lines). */
export async function checkRuntime(gpu: GpuHandle, data: { train: Dataset; test: Dataset }, quick: boolean, log: (s: string) => void): Promise<RuntimeReport> {
  const device = gpu.device;
  const peak = peakFor({ ...gpu.adapterInfo, isFallbackAdapter: gpu.isSoftware });
  const seconds: Record<string, number> = {};
  const errors: string[] = [];
  // Each stage is timed, and one that throws is recorded instead of ending the check.
  const timed = async <T>(what: string, f: () => Promise<T>, fallback: T): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } catch (e) {
      errors.push(`${what}: ${(e as Error).message}`);
      log(`  ${what} FAILED: ${(e as Error).message}`);
      return fallback;
    } finally {
      seconds[what] = (performance.now() - t0) / 1000;
    }
  };
  log(`kernel cases (profile '${gpu.profile}'${quick ? ', quick: the whole-model gradient checks' : ''}):`);
  const cases = await timed('cases', () => runCases(device, quick, log), { total: 0, passed: 0, failures: [] });
  log('training smoke run (mlp preset on MNIST digits):');
  const failedRun: SmokeReport = { model: 'mlp', batch: 0, trainSamples: 0, epochs: 0, steps: 0, testLoss: [], samplesPerSecond: 0, ok: false, problem: 'the smoke run threw (see errors)' };
  const training = await timed('training', () => smokeRun(device, data, quick), failedRun);
  log(`  test loss per epoch ${training.testLoss.map((v) => v.toFixed(2)).join(', ')}: ${training.ok ? 'ok' : training.problem}`);
  log(`bench --kernels --train${quick ? ' --quick (training: mlp only)' : ''}:`);
  const runners = {
    kernels: benchKernels, matmul: benchMatmul, training: quick ? ((d, l, o) => benchTraining(d, l, { ...o, models: ['mlp'] })) as typeof benchTraining : benchTraining,
    startup: quick ? async () => null : benchStartup,
  };
  const bench = await timed('bench', () => runSelection(device, parseSelection(['--kernels', '--train', ...(quick ? ['--quick'] : [])]), (s) => log(`  ${s}`), runners), { kernels: [], matmul: null, training: [], startup: null, peers: null, timing: '' });
  const kernels: KernelRate[] = bench.kernels.map((k) => {
    const p = peak ? (k.unit === 'GFLOP/s' ? peak.gflops : peak.gbps) : null;
    return { name: k.name, kernel: k.kernel ?? null, why: k.why ?? null, ms: k.ms, rate: k.rate, unit: k.unit, peak: p, shareOfPeak: p ? k.rate / p : null };
  });
  let autotune: RuntimeReport['autotune'] = { skipped: 'quick mode' };
  if (!quick) {
    log('matmul autotune on the mlp\'s products (what --autotune would pick here):');
    const t = await timed('autotune', () => tuneMatmul(device, VAE_MATMUL_SHAPES, { log: (s) => log(`  ${s}`) }), null);
    autotune = t ? { timing: t.timing, entries: t.entries.map((e) => ({ shape: e.key, chosen: e.chosen, ms: e.ms as Record<string, number> })) } : { skipped: 'the autotune threw (see errors)' };
    clearMatmulTuning(device);
  }
  return {
    adapter: gpu.adapterInfo, isSoftware: gpu.isSoftware, kernelProfile: gpu.profile, features: [...device.features].sort(), limits: limitsOf(device), peak,
    cases, training, kernels, trainingBench: bench.training, startup: bench.startup, matmulChoices: matmulChoices(bench.training), autotune, seconds, errors,
  };
}
