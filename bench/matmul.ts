/**
 * The matmul variant benchmark, part of the suite run in Node (bench/run.ts)
 * and headless Chromium (bench/page.ts): every variant side by side on square
 * products and on the mlp VAE's products, then the autotune's choices.
 *
 * Entries are a table of named benchmarks (BenchEntry): a name, a group, the
 * work done, and a function that makes the kernel calls on a device. Other
 * kernels join by adding entries (bench/suite.ts times conv, ELBO and Adam).
 *
 * Timing: GPU timestamps around each dispatch when the adapter has
 * 'timestamp-query' (median of the runs), else wall clock over submits after a
 * warm-up (median of several). Pipelines are made before timing starts.
 */
import { createBuffer, destroyBuffer, STORAGE, uploadF32 } from '../src/gpu/buffers.ts';
import { canTime, timeCalls, wallTime } from '../src/gpu/timing.ts';
import { gpuWait } from '../src/gpu/wait.ts';
import { tuneMatmul, VAE_MATMUL_SHAPES, type MatmulTuning } from '../src/kernels/autotune.ts';
import type { KernelCall } from '../src/gpu/dispatch.ts';
import { kernelProfile, type KernelProfile } from '../src/gpu/profile.ts';
import { defaultMatmulVariant, MATMUL_VARIANTS, matmul, matmulShapeKey, matmulUnsupported, matmulVariant, type MatmulShape, type MatmulVariant } from '../src/kernels/matmul.ts';

/** One named benchmark: `build` makes the calls to time and a function that frees what it made. */
export interface BenchEntry {
  readonly name: string;
  /** Entries of a group are shown side by side (for matmul: one shape, each variant). */
  readonly group: string;
  /** Floating-point operations per run (for GFLOP/s). */
  readonly flops: number;
  build(device: GPUDevice): { readonly calls: readonly KernelCall[]; dispose(): void };
}

export interface EntryResult {
  readonly name: string;
  readonly group: string;
  readonly ms: number;
  readonly gflops: number;
  readonly runs: number;
}

function data(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin((i + 1) * 12.9898 + seed) * 0.5;
  return a;
}

/** A matmul of `shape` with `variant` (or the default choice when undefined). */
export function matmulEntry(group: string, shape: MatmulShape, variant: MatmulVariant | undefined): BenchEntry {
  return {
    name: `${group} [${variant ?? 'default'}]`,
    group,
    flops: 2 * shape.m * shape.n * shape.k,
    build(device) {
      const a = uploadF32(device, data(shape.m * shape.k, 1));
      const b = uploadF32(device, data(shape.k * shape.n, 2));
      const c = createBuffer(device, shape.m * shape.n * 4, STORAGE);
      const call = matmul(device, { a, b, c }, variant ? { ...shape, variant } : shape);
      return {
        calls: [call],
        dispose() {
          call.destroy();
          for (const x of [a, b, c]) destroyBuffer(device, x);
        },
      };
    },
  };
}

/** The shapes of the benchmark: squares, and the mlp VAE's products at batch 128 (M×K·K×N). */
export function matmulShapes(): { readonly label: string; readonly shape: MatmulShape }[] {
  const out: { label: string; shape: MatmulShape }[] = [256, 512, 1024].map((s) => ({ label: `square ${s}`, shape: { m: s, n: s, k: s } }));
  for (const s of VAE_MATMUL_SHAPES) {
    const role = s.transB ? 'fwd x·Wᵀ' : s.transA ? 'dW dYᵀ·X' : 'dX dY·W';
    out.push({ label: `vae ${role} ${s.m}×${s.k}·${s.k}×${s.n}`, shape: s });
  }
  return out;
}

/** Every variant that can run each shape on this device. */
export function matmulEntries(device: GPUDevice): BenchEntry[] {
  const out: BenchEntry[] = [];
  for (const { label, shape } of matmulShapes()) {
    for (const v of MATMUL_VARIANTS) if (!matmulUnsupported(device, v, shape)) out.push(matmulEntry(label, shape, v));
  }
  return out;
}

async function timeEntry(device: GPUDevice, calls: readonly KernelCall[], budgetMs: number): Promise<{ ms: number; runs: number }> {
  if (canTime(device)) {
    const first = (await timeCalls(device, calls, 1)).reduce((a, b) => a + b, 0);
    const runs = Math.max(1, Math.min(7, Math.floor(budgetMs / Math.max(first, 1e-3))));
    if (runs === 1) return { ms: first, runs: 1 };
    return { ms: (await timeCalls(device, calls, runs)).reduce((a, b) => a + b, 0), runs };
  }
  const first = await wallTime(device, calls, 1);
  const per = Math.max(1, Math.min(20, Math.floor(budgetMs / 5 / Math.max(first, 1e-3))));
  const samples: number[] = [];
  for (let r = 0; r < 5; r++) samples.push(await wallTime(device, calls, per));
  return { ms: samples.sort((a, b) => a - b)[2]!, runs: 5 * per };
}

/** Builds and times each entry (about `budgetMs` of runs each), one at a time. */
export async function runEntries(device: GPUDevice, entries: readonly BenchEntry[], log: (s: string) => void = () => {}, budgetMs = 1500): Promise<EntryResult[]> {
  const out: EntryResult[] = [];
  for (const e of entries) {
    const built = e.build(device);
    try {
      await gpuWait(() => device.queue.onSubmittedWorkDone());
      const { ms, runs } = await timeEntry(device, built.calls, budgetMs);
      const r = { name: e.name, group: e.group, ms, gflops: e.flops / (ms * 1e6), runs };
      out.push(r);
      log(`  ${e.name.padEnd(52)} ${ms.toFixed(2).padStart(10)} ms ${r.gflops.toFixed(2).padStart(8)} GFLOP/s  (${runs} run${runs > 1 ? 's' : ''})`);
    } finally {
      built.dispose();
    }
  }
  return out;
}

export interface MatmulRow {
  readonly label: string;
  readonly key: string;
  readonly flops: number;
  /** GFLOP/s and milliseconds per variant. */
  readonly variants: Readonly<Partial<Record<MatmulVariant, { readonly gflops: number; readonly ms: number }>>>;
  /** The kernel profile's default for this shape (what every other part measures). */
  readonly default: MatmulVariant;
  /** The variant matmul uses for this shape after this part's tuning (forgotten when the part ends). */
  readonly chosen: MatmulVariant;
  /** The best variant over `reg4x4`, the textbook 4×4 register-blocked kernel, and the default over it. */
  readonly bestOverReg4x4: number | null;
  readonly defaultOverReg4x4: number | null;
}

export interface MatmulBench {
  readonly timing: 'gpu timestamps (median)' | 'wall clock (median)';
  readonly kernelProfile: KernelProfile;
  readonly rows: readonly MatmulRow[];
  readonly tuning: MatmulTuning;
}

function table(rows: readonly MatmulRow[]): string[] {
  const cols = MATMUL_VARIANTS;
  const head = `${'shape'.padEnd(34)}${cols.map((v) => v.padStart(10)).join('')}   best/naive  best/direct  best/reg4x4  default/reg4x4  default  tuned`;
  const lines = [head, '-'.repeat(head.length)];
  for (const r of rows) {
    const g = (v: MatmulVariant) => r.variants[v]?.gflops;
    const best = Math.max(...cols.map((v) => g(v) ?? 0));
    const ratio = (v: MatmulVariant) => (g(v) ? `${(best / g(v)!).toFixed(1)}×` : '-');
    const x = (v: number | null) => (v === null ? '-' : `${v.toFixed(1)}×`);
    lines.push(`${r.label.padEnd(34)}${cols.map((v) => (g(v) === undefined ? '-' : g(v)!.toFixed(2)).padStart(10)).join('')}   ${ratio('naive').padStart(10)}  ${ratio('direct').padStart(11)}  ${x(r.bestOverReg4x4).padStart(11)}  ${x(r.defaultOverReg4x4).padStart(14)}  ${r.default.padEnd(7)}  ${r.chosen}`);
  }
  return lines;
}

/**
 * Times every variant on every shape (GFLOP/s), tunes the VAE's shapes, and
 * prints a table: one row per shape, one column per variant, the ratios of the
 * best to the naive and to the portable kernel, and the tuned choice.
 */
export async function benchMatmul(device: GPUDevice, log: (s: string) => void = () => {}, budgetMs = 1500): Promise<MatmulBench> {
  log(`matmul variants (GFLOP/s per run; kernel profile '${kernelProfile(device)}'):`);
  const defaults = new Map(matmulShapes().map(({ shape }) => [matmulShapeKey(shape), defaultMatmulVariant(device, shape)]));
  const results = await runEntries(device, matmulEntries(device), log, budgetMs);
  log('tuning the VAE shapes:');
  const tuning = await tuneMatmul(device, VAE_MATMUL_SHAPES, { log: (s) => log(`  ${s}`) });
  const rows: MatmulRow[] = matmulShapes().map(({ label, shape }) => {
    const variants: Partial<Record<MatmulVariant, { gflops: number; ms: number }>> = {};
    for (const r of results) {
      if (r.group !== label) continue;
      const v = /\[(\w+)\]$/.exec(r.name)![1] as MatmulVariant;
      variants[v] = { gflops: r.gflops, ms: r.ms };
    }
    const best = Math.max(...Object.values(variants).map((v) => v.gflops));
    const dflt = defaults.get(matmulShapeKey(shape))!;
    const ref = variants.reg4x4?.gflops;
    return {
      label, key: matmulShapeKey(shape), flops: 2 * shape.m * shape.n * shape.k, variants, default: dflt, chosen: matmulVariant(device, shape),
      bestOverReg4x4: ref ? best / ref : null, defaultOverReg4x4: ref && variants[dflt] ? variants[dflt]!.gflops / ref : null,
    };
  });
  log('');
  for (const l of table(rows)) log(l);
  log(`tuned choice per shape class: ${Object.entries(tuning.byClass).map(([c, v]) => `${c} ${v}`).join(', ')}`);
  return { timing: canTime(device) ? 'gpu timestamps (median)' : 'wall clock (median)', kernelProfile: kernelProfile(device), rows, tuning };
}
