/**
 * The parts of the benchmark suite and how they are picked: `--kernels`,
 * `--matmul`, `--train`, `--peers`, `--startup` (the time to first step
 * alone; any combination; none means all) and
 * `--quick` (shorter timing budgets; `--train` also measures the time to
 * first step, first, on a fresh device), and `--isolate` (the page cross-origin
 * isolated, so that TensorFlow.js's WASM backend runs with threads) and
 * `--autotune` (tune the matmul kernels on the training models' products first). Shared by Node (bench/run.ts) and the
 * page that runs the suite in Chromium (bench/page.ts, given the same words as
 * a query). The peers (TensorFlow.js, jax-js) run in the browser only; their
 * module is loaded there on demand.
 */
import { clearMatmulTuning } from '../src/kernels/autotune.ts';
import { benchMatmul, type MatmulBench } from './matmul.ts';
import { PEER_MODELS } from './peers/common.ts';
import type { PeersBench } from './peers/index.ts';
import { benchStartup, type StartupBench } from './startup.ts';
import { benchKernels, type KernelResult } from './suite.ts';
import { BENCH_MODELS, benchTraining, type TrainResult } from './training.ts';

export const PARTS = ['kernels', 'matmul', 'train', 'peers', 'startup'] as const;
export type Part = (typeof PARTS)[number];

export interface BenchSelection {
  readonly parts: readonly Part[];
  readonly quick: boolean;
  /** Tune the matmul kernels on each training model's products before compiling its step. */
  readonly autotune: boolean;
  /** Serve the browser page cross-origin isolated (SharedArrayBuffer: TensorFlow.js's WASM backend then uses threads). */
  readonly isolate: boolean;
  /** The training models to time (--models=mlp,smiles), and with --peers the peers' models among them; all of them when absent. */
  readonly models?: readonly string[];
}

/** Reads `--kernels --matmul --train --peers --startup --quick --isolate --autotune` (unknown words are refused). */
export function parseSelection(words: readonly string[]): BenchSelection {
  const parts: Part[] = [];
  let quick = false;
  let isolate = false;
  let autotune = false;
  let models: string[] | undefined;
  for (const w of words) {
    const name = w.replace(/^--/, '');
    if (name.startsWith('models=')) {
      models = name.slice(7).split(',');
      const known = BENCH_MODELS.map((m) => m[0]);
      const bad = models.find((m) => !known.includes(m));
      if (bad !== undefined) throw new Error(`bench: --models: unknown model '${bad}': expected a comma-separated list of ${known.join(', ')}`);
    } else if (name === 'quick') quick = true;
    else if (name === 'isolate') isolate = true;
    else if (name === 'autotune') autotune = true;
    else if ((PARTS as readonly string[]).includes(name)) parts.push(name as Part);
    else throw new Error(`bench: unknown option '${w}': expected --kernels, --matmul, --train, --peers, --startup, --quick, --isolate, --autotune or --models=<list>`);
  }
  return { parts: parts.length ? parts : [...PARTS], quick, isolate, autotune, ...(models ? { models } : {}) };
}

export interface BenchResults {
  kernels: KernelResult[];
  matmul: MatmulBench | null;
  training: TrainResult[];
  /** Time to first step, cold (with --train, measured before anything else on a device of its own). */
  startup: StartupBench | null;
  /** Peers side by side (browser), or why they did not run. */
  peers: PeersBench | { readonly skipped: string } | null;
  timing: string;
}

/** The functions behind the parts (replaceable in tests). */
export interface PartRunners {
  readonly kernels: typeof benchKernels;
  readonly matmul: typeof benchMatmul;
  readonly training: typeof benchTraining;
  /** Null: not measured (gpu-check's quick mode). */
  readonly startup: (log: (s: string) => void) => Promise<StartupBench | null>;
}

const RUNNERS: PartRunners = { kernels: benchKernels, matmul: benchMatmul, training: benchTraining, startup: benchStartup };

/**
 * Runs the selected parts on `device`, logging each line as it is measured.
 * Every part measures the kernel profile's default kernels unless it says
 * otherwise: the matmul part's autotune is forgotten when it ends, so the
 * training part measures the defaults (or, with --autotune, its own tuning).
 */
export async function runSelection(device: GPUDevice, sel: BenchSelection, log: (s: string) => void, run: PartRunners = RUNNERS): Promise<BenchResults> {
  const has = (p: Part) => sel.parts.includes(p);
  const train = () => run.training(device, log, { quick: sel.quick, autotune: sel.autotune, ...(sel.models ? { models: sel.models } : {}) });
  // First, while nothing has compiled yet in this process.
  const startup = has('train') || has('startup') ? await run.startup(log) : null;
  const kernels = has('kernels') ? await run.kernels(device, log, { quick: sel.quick }) : [];
  let matmul: MatmulBench | null = null;
  if (has('matmul')) {
    try {
      matmul = await run.matmul(device, log, sel.quick ? 400 : 1500);
    } finally {
      clearMatmulTuning(device);
    }
  }
  let training = has('train') ? await train() : [];
  let peers: BenchResults['peers'] = null;
  if (has('peers')) {
    if (typeof window === 'undefined') {
      peers = { skipped: 'the peers (TensorFlow.js WebGPU/WASM, jax-js WebGPU) run in the browser: npm run bench:browser -- --peers' };
      log(`peers: ${peers.skipped}`);
    } else {
      // Our numbers for the ratios come from the same run, before and after the peers.
      if (!training.length) training = await train();
      // The peers run the models the training part timed (--models limits both).
      const models = PEER_MODELS.filter((m) => training.some((x) => x.model === m));
      const rate = (t: readonly TrainResult[]) => Object.fromEntries(models.map((m) => [m, t.find((x) => x.model === m)!.samplesPerSecond]));
      if (!models.length) {
        peers = { skipped: `the peers run ${PEER_MODELS.join(', ')}; none of them is among --models=${sel.models?.join(',')}` };
        log(`peers: ${peers.skipped}`);
      } else {
        const { benchPeers } = await import('./peers/index.ts');
        peers = await benchPeers(models, rate(training), async () => rate(await train()), log);
      }
    }
  }
  return { kernels, matmul, training, startup, peers, timing: device.features.has('timestamp-query') ? 'gpu timestamps (median)' : 'wall clock' };
}
