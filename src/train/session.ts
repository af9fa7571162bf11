/**
 * A training session on one device: the parameter, gradient and optimizer
 * blocks (each one buffer, allocated once), the compiled step, the dataset on
 * the GPU with its shuffled order, and the per-step knobs. A step is one
 * command buffer and one submit, with no readback.
 */
import { createBuffer, destroyBuffer, readF32, readRanges, STORAGE, uploadU32, type ByteRange } from '../gpu/buffers.ts';
import { gather, packBytes } from '../kernels/data.ts';
import { matmulTuning, tuneMatmul, type MatmulTuning } from '../kernels/autotune.ts';
import type { KernelCall } from '../gpu/dispatch.ts';
import { matmulShapeClass, matmulShapeKey, matmulVariant, type MatmulVariant } from '../kernels/matmul.ts';
import { adam, clipGradNorm, GRAD_CTL_LENGTH, sgd, type OptimizerCall } from '../kernels/optim.ts';
import { decodeNonFiniteReport, nonFiniteScan, NONFINITE_REPORT_LENGTH, type NonFiniteCall } from '../kernels/nonfinite.ts';
import type { ELBO_STATS } from '../kernels/elbo.ts';
import { sumSquaresPartials } from '../kernels/reduce.ts';
import { buildTraining, type TrainingGraph } from '../graph/autodiff.ts';
import { numel } from '../graph/ir.ts';
import { checkPlanFits } from '../graph/limits.ts';
import { matmulShapes, paramLayout, Program, type LossSettings } from '../graph/program.ts';
import { sampleSize, type Dataset } from '../data/dataset.ts';
import { gatherRef } from '../ref/data.ts';
import type { ModelSpec } from '../model/spec.ts';

export type OptimizerName = 'adam' | 'adamw' | 'sgd';

export interface OptimizerSettings {
  readonly type: OptimizerName;
  readonly lr: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  readonly weightDecay?: number;
  readonly momentum?: number;
  readonly nesterov?: boolean;
  /** Clip the gradient's global norm to this (0: no clipping). */
  readonly clipNorm?: number;
}

export interface SessionOptions {
  readonly spec: ModelSpec;
  readonly batch: number;
  readonly optimizer: OptimizerSettings;
  readonly loss: LossSettings;
  /** Binarize each batch by sampling (dynamic binarization, for Bernoulli models). */
  readonly dynamicBinarize?: boolean;
  /**
   * TrainingSession.create only: tune the matmul kernels on this model's
   * products before compiling (see tuneMatmul; a few seconds on CPU adapters,
   * where pipeline compilation dominates, so it is opt-in). Default false.
   */
  readonly autotune?: boolean;
}

/** Which matmul kernel variant one product of the step uses, and whether a tuning chose it. */
export interface MatmulChoice {
  readonly label: string;
  readonly key: string;
  readonly variant: MatmulVariant;
  /** 'shape': tuned on this exact shape; 'class': a tuned choice for its shape class; 'default': the adapter's default. */
  readonly source: 'shape' | 'class' | 'default';
}

/**
 * Tunes the matmul kernels on the products of `spec`'s training step at
 * `batch` (shapes already tuned on the device are not timed again) and
 * returns the device's tuning so far.
 */
export async function tuneForTraining(device: GPUDevice, spec: ModelSpec, batch: number, log?: (line: string) => void): Promise<MatmulTuning> {
  const shapes = matmulShapes(buildTraining(spec, batch)).map((x) => x.shape);
  const unique = [...new Map(shapes.map((s) => [matmulShapeKey(s), s])).values()];
  return tuneMatmul(device, unique, log ? { log } : {});
}

/** A training session's device memory against the analytic minimum for its schedule. */
export interface SessionMemory {
  /** Parameters, gradients and optimizer state (one block each, the size of the parameters). */
  readonly paramBytes: number;
  readonly gradBytes: number;
  readonly stateBytes: number;
  /** Temporaries as planned, and the most bytes of them live at one node (the least any plan could use). */
  readonly plannedBytes: number;
  readonly peakLiveBytes: number;
  /** Batch input, statistics, gradient-clipping control and scratch. */
  readonly otherBytes: number;
  /** Everything the step uses, as allocated. */
  readonly totalBytes: number;
  /** Parameters + gradients + optimizer state + the temporaries live at the peak + the rest. */
  readonly minimumBytes: number;
}

/** Per-step values. */
export interface StepKnobs {
  readonly beta: number;
  readonly lr: number;
}

/** Skipped updates since the last read: the steps, and where the first skipped step's gradient was not finite. */
export interface NonFiniteSteps {
  /** Updates skipped. */
  readonly skipped: number;
  readonly firstStep: number;
  readonly lastStep: number;
  /** The parameter whose gradient held the first non-finite value, and the element (null: every element was finite but the sum of squares overflowed). */
  readonly tensor: string | null;
  readonly element: number;
}

/** Values of the parameters by state_dict name. */
export type StateDict = Map<string, Float32Array>;

/** PyTorch-default parameters, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), from a seeded generator. */
export function initParams(tg: Pick<TrainingGraph, 'params'>, seed: number): StateDict {
  let s = (seed * 2654435761 + 0x6d2b79f5) >>> 0;
  const rnd = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out: StateDict = new Map();
  for (const p of tg.params) {
    const v = new Float32Array(numel(p.shape));
    for (let i = 0; i < v.length; i++) v[i] = (2 * rnd() - 1) * p.initBound;
    out.set(p.name, v);
  }
  return out;
}

function choicesOf(device: GPUDevice, tg: TrainingGraph, t: MatmulTuning | null): MatmulChoice[] {
  return matmulShapes(tg).map(({ label, shape }) => {
    const key = matmulShapeKey(shape);
    const variant = matmulVariant(device, shape);
    const source = t?.entries.find((e) => e.key === key)?.chosen === variant ? 'shape' : t?.byClass[matmulShapeClass(shape)] === variant ? 'class' : 'default';
    return { label, key, variant, source };
  });
}

export class TrainingSession {
  readonly graph: TrainingGraph;
  readonly program: Program;
  readonly params: GPUBuffer;
  readonly grads: GPUBuffer;
  /** Optimizer state: Adam's m and v, or SGD's momentum. */
  readonly state: GPUBuffer[];
  /** Gradient control block [scale, norm, skip, skips] (see optim.wgsl). */
  readonly ctl: GPUBuffer;
  /** Where skipped steps' gradients were not finite (see nonfinite.wgsl). */
  readonly nonFinite: GPUBuffer;
  readonly paramFloats: number;
  /** Optimizer steps taken. */
  step = 0;
  /** The device's matmul tuning when the step was compiled (null: none ran; the adapter's defaults were used). */
  readonly tuning: MatmulTuning | null;
  /** The kernel variant each matrix product of the step runs, and where the choice came from. */
  readonly matmulChoices: readonly MatmulChoice[];
  private readonly scratch: GPUBuffer[];
  private readonly optimizer: OptimizerCall;
  private readonly clip: KernelCall[];
  private readonly scan: NonFiniteCall;
  private data: { buffer: GPUBuffer; order: GPUBuffer; call: KernelCall; count: number; stepsPerEpoch: number } | null = null;
  /** A dataset too large for one storage binding stays on the CPU; batches are written per step. */
  private streamed: { readonly ds: Dataset; order: Uint32Array; readonly stepsPerEpoch: number } | null = null;
  private destroyed = false;

  /** A session, after tuning the matmul kernels on its shapes when `options.autotune` is set. */
  static async create(device: GPUDevice, options: SessionOptions, log?: (line: string) => void): Promise<TrainingSession> {
    if (options.autotune) await tuneForTraining(device, options.spec, options.batch, log);
    return new TrainingSession(device, options);
  }

  constructor(readonly device: GPUDevice, readonly options: SessionOptions) {
    this.tuning = matmulTuning(device);
    const tg = buildTraining(options.spec, options.batch);
    checkPlanFits(device.limits, tg, 'training');
    this.matmulChoices = choicesOf(device, tg, this.tuning);
    this.graph = tg;
    const { total } = paramLayout(tg);
    this.paramFloats = total;
    const mk = (floats: number, label: string) => createBuffer(device, floats * 4, STORAGE, label);
    // The blocks end in up to 3 zero floats so that the optimizer can update
    // four at a time; they stay zero (zero gradient, zero state).
    const padded = Math.ceil(total / 4) * 4;
    this.params = mk(padded, 'params');
    this.grads = mk(padded, 'grads');
    const o = options.optimizer;
    const needsMomentum = o.type === 'sgd' && (o.momentum ?? 0) !== 0;
    this.state = o.type === 'sgd' ? (needsMomentum ? [mk(padded, 'momentum')] : []) : [mk(padded, 'adam.m'), mk(padded, 'adam.v')];
    this.ctl = mk(GRAD_CTL_LENGTH, 'grad ctl');
    this.nonFinite = mk(NONFINITE_REPORT_LENGTH, 'non-finite report');
    this.scratch = [mk(sumSquaresPartials(total, device), 'grad sumsq partials'), mk(1, 'grad sumsq')];
    const built: { program?: Program; clip?: KernelCall[]; scan?: NonFiniteCall } = {};
    try {
      built.program = new Program(device, tg, { params: this.params, grads: this.grads }, options.loss);
      built.clip = clipGradNorm(device, { grad: this.grads, partials: this.scratch[0]!, ss: this.scratch[1]!, ctl: this.ctl }, { n: total, maxNorm: o.clipNorm ?? 0 });
      built.scan = nonFiniteScan(device, { grad: this.grads, ctl: this.ctl, report: this.nonFinite }, { n: total, step: 1 });
      const common = { param: this.params, grad: this.grads, gradScale: this.ctl };
      const copts = { n: padded, lr: o.lr, step: 1, weightDecay: o.weightDecay ?? 0, skipNonFinite: true };
      this.optimizer =
        o.type === 'sgd'
          ? sgd(device, { ...common, ...(needsMomentum ? { momentum: this.state[0]! } : {}) }, { ...copts, momentum: o.momentum ?? 0, nesterov: o.nesterov ?? false })
          : adam(device, { ...common, m: this.state[0]!, v: this.state[1]! }, {
              ...copts, decoupled: o.type === 'adamw', beta1: o.beta1 ?? 0.9, beta2: o.beta2 ?? 0.999, eps: o.eps ?? 1e-8,
            });
    } catch (e) {
      built.program?.destroy();
      for (const c of built.clip ?? []) c.destroy();
      built.scan?.destroy();
      for (const b of this.allBuffers()) destroyBuffer(device, b);
      throw e;
    }
    this.program = built.program;
    this.clip = built.clip;
    this.scan = built.scan;
  }

  private allBuffers(): GPUBuffer[] {
    return [this.params, this.grads, ...this.state, this.ctl, this.nonFinite, ...this.scratch];
  }

  /** Uploads parameters by state_dict name; every parameter must be given with its exact size. */
  setParams(values: ReadonlyMap<string, ArrayLike<number>>): void {
    const { offsets, total } = paramLayout(this.graph);
    const block = new Float32Array(total);
    this.graph.params.forEach((p, i) => {
      const v = values.get(p.name);
      const n = numel(p.shape);
      if (!v) throw new Error(`parameters: '${p.name}' [${p.shape.join(', ')}] is missing`);
      if (v.length !== n) throw new Error(`parameters: '${p.name}' has ${v.length} values; the model's shape [${p.shape.join(', ')}] needs ${n}`);
      for (let j = 0; j < n; j++) block[offsets[i]! + j] = v[j]!;
    });
    for (const k of values.keys()) {
      if (!this.graph.params.some((p) => p.name === k)) throw new Error(`parameters: '${k}' is not a parameter of this model`);
    }
    this.device.queue.writeBuffer(this.params, 0, block);
  }

  /** Reads the parameters (or, with `grads`, the last gradients) back by state_dict name. */
  async getParams(which: 'params' | 'grads' = 'params'): Promise<StateDict> {
    const block = await readF32(this.device, which === 'params' ? this.params : this.grads, this.paramFloats);
    const { offsets } = paramLayout(this.graph);
    const out: StateDict = new Map();
    this.graph.params.forEach((p, i) => out.set(p.name, block.slice(offsets[i]!, offsets[i]! + numel(p.shape))));
    return out;
  }

  /** Names of the optimizer's state blocks, in the order of `state`. */
  get stateNames(): string[] {
    return this.options.optimizer.type === 'sgd' ? this.state.map(() => 'momentum') : ['m', 'v'];
  }

  /** Reads the optimizer state blocks back, by name. */
  async getOptimizerState(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    const names = this.stateNames;
    for (let i = 0; i < this.state.length; i++) out.set(names[i]!, await readF32(this.device, this.state[i]!, this.paramFloats));
    return out;
  }

  /** Restores the optimizer state blocks and the step count (resuming a run). */
  setOptimizerState(blocks: ReadonlyMap<string, Float32Array>, step: number): void {
    this.stateNames.forEach((n, i) => {
      const v = blocks.get(n);
      if (!v || v.length !== this.paramFloats) throw new Error(`optimizer state '${n}': expected ${this.paramFloats} values, got ${v?.length ?? 'none'}`);
      this.device.queue.writeBuffer(this.state[i]!, 0, v.buffer, v.byteOffset, v.byteLength);
    });
    if (!Number.isInteger(step) || step < 0) throw new Error(`optimizer step ${step}: expected a non-negative integer`);
    this.step = step;
  }

  /** Sets the control block's running count of skipped steps (restoring a snapshot). */
  restoreSkipCount(skips: number): void {
    this.device.queue.writeBuffer(this.ctl, 0, Float32Array.from([1, 0, 0, skips]));
  }

  /** Resets the optimizer state and the step count (new run or fresh optimizer). */
  resetOptimizer(): void {
    for (const b of [...this.state, this.ctl, this.nonFinite]) this.device.queue.writeBuffer(b, 0, new Float32Array(b.size / 4));
    this.step = 0;
  }

  /**
   * Puts a dataset on the GPU; batches are then gathered there in the order set
   * by setOrder. A dataset larger than the device's storage binding limit (or
   * with `stream`) stays on the CPU and each batch is written with
   * queue.writeBuffer before its step, with the same values.
   */
  attachData(ds: Dataset, opts: { readonly stream?: boolean } = {}): void {
    const D = sampleSize(ds);
    const want = numel(this.options.spec.input);
    if (D !== want) throw new Error(`${ds.name}: samples of shape [${ds.shape.join(', ')}] (${D} values) do not fit a model whose input is [${this.options.spec.input.join(', ')}] (${want})`);
    const B = this.options.batch;
    if (ds.count < B) throw new Error(`${ds.name}: ${ds.count} samples is fewer than the batch size ${B}`);
    this.detachData();
    const stepsPerEpoch = Math.ceil(ds.count / B);
    const bytes = ds.data instanceof Uint8Array ? Math.ceil(ds.data.length / 4) * 4 : ds.data.byteLength;
    if (opts.stream || bytes > this.device.limits.maxStorageBufferBindingSize) {
      this.streamed = { ds, order: new Uint32Array(stepsPerEpoch * B), stepsPerEpoch };
      this.setOrder(Uint32Array.from({ length: ds.count }, (_, i) => i));
      return;
    }
    const buffer = ds.data instanceof Uint8Array ? uploadU32(this.device, packBytes(ds.data), `${ds.name} data`) : (() => {
      const b = createBuffer(this.device, ds.data.byteLength, STORAGE, `${ds.name} data`);
      this.device.queue.writeBuffer(b, 0, ds.data.buffer, ds.data.byteOffset, ds.data.byteLength);
      return b;
    })();
    const order = createBuffer(this.device, stepsPerEpoch * B * 4, STORAGE, `${ds.name} order`);
    const call = gather(this.device, { data: buffer, order, x: this.program.input }, {
      batch: B, features: D, count: ds.count, dtype: ds.data instanceof Uint8Array ? 'u8' : 'f32',
      binarize: !!this.options.dynamicBinarize, seed: this.options.loss.seed, step: 0,
    });
    this.data = { buffer, order, call, count: ds.count, stepsPerEpoch };
    this.setOrder(Uint32Array.from({ length: ds.count }, (_, i) => i));
  }

  /** Batches per epoch of the attached dataset (the last one is topped up from the epoch's start). */
  get stepsPerEpoch(): number {
    const d = this.data ?? this.streamed;
    if (!d) throw new Error('no dataset attached');
    return d.stepsPerEpoch;
  }

  /** Whether batches are written from the CPU rather than gathered on the GPU. */
  get streaming(): boolean {
    return this.streamed !== null;
  }

  /** Sets the epoch's sample order (a permutation of the attached dataset). */
  setOrder(perm: Uint32Array): void {
    const count = this.data?.count ?? this.streamed?.ds.count;
    if (count === undefined) throw new Error('no dataset attached');
    if (perm.length !== count) throw new Error(`order: ${perm.length} indices for ${count} samples`);
    const B = this.options.batch;
    const padded = new Uint32Array(this.stepsPerEpoch * B);
    for (let i = 0; i < padded.length; i++) padded[i] = perm[i % count]!;
    if (this.streamed) this.streamed.order = padded;
    else this.device.queue.writeBuffer(this.data!.order, 0, padded);
  }

  private detachData(): void {
    this.streamed = null;
    if (!this.data) return;
    this.data.call.destroy();
    destroyBuffer(this.device, this.data.buffer);
    destroyBuffer(this.device, this.data.order);
    this.data = null;
  }

  /**
   * Records one step into `encoder`: the batch gather (when a dataset is
   * attached; its position is `batchIndex` within the epoch), forward,
   * loss, backward and, unless `update` is false, clipping and the optimizer.
   */
  encodeStep(encoder: GPUCommandEncoder, knobs: StepKnobs, batchIndex = 0, update = true): void {
    const next = this.step + 1;
    this.program.setStep(next, knobs.beta);
    const before: KernelCall[] = [];
    if (this.data) {
      this.data.call.setParams({ start: batchIndex * this.options.batch, step: next });
      before.push(this.data.call);
    } else if (this.streamed) {
      const B = this.options.batch;
      const x = gatherRef(this.streamed.ds.data, this.streamed.order, {
        batch: B, features: sampleSize(this.streamed.ds), start: batchIndex * B,
        binarize: !!this.options.dynamicBinarize, seed: this.options.loss.seed, step: next,
      });
      this.device.queue.writeBuffer(this.program.input, 0, x.buffer, x.byteOffset, x.byteLength);
    }
    const after: KernelCall[] = [];
    if (update) {
      this.optimizer.setStep(next, knobs.lr);
      this.scan.setStep(next);
      after.push(...this.clip, this.scan, this.optimizer);
      this.step = next;
    }
    this.program.encode(encoder, before, after);
  }

  /** Device memory of the step (the dataset excluded) against the analytic minimum. */
  memory(): SessionMemory {
    const m = this.program.memory();
    const stateBytes = this.state.reduce((a, b) => a + b.size, 0);
    const otherBytes = m.inputBytes + this.ctl.size + this.scratch.reduce((a, b) => a + b.size, 0);
    const fixed = this.params.size + this.grads.size + stateBytes + otherBytes;
    return {
      paramBytes: this.params.size, gradBytes: this.grads.size, stateBytes, plannedBytes: m.plannedBytes, peakLiveBytes: m.peakLiveBytes, otherBytes,
      totalBytes: fixed + m.plannedBytes, minimumBytes: fixed + m.peakLiveBytes,
    };
  }

  /** Kernel dispatches in one training step (data gather, program, clipping, update). */
  get dispatchesPerStep(): number {
    return this.stepCalls().length;
  }

  /** Every kernel call of one training step in order: data gather, the program, clipping, the non-finite scan, the update. */
  stepCalls(): KernelCall[] {
    return [...(this.data ? [this.data.call] : []), ...this.program.steps.map((s) => s.call), ...this.clip, this.scan, this.optimizer];
  }

  /** One training step in its own command buffer and submit (no wait). */
  runStep(knobs: StepKnobs, batchIndex = 0): void {
    const enc = this.device.createCommandEncoder({ label: `step ${this.step + 1}` });
    this.encodeStep(enc, knobs, batchIndex, true);
    this.device.queue.submit([enc.finish()]);
  }

  /** The gradient control block: clip scale, gradient norm, skip flag of the last step, steps skipped so far. */
  async readControl(): Promise<{ scale: number; norm: number; skipped: boolean; skips: number }> {
    const v = await readF32(this.device, this.ctl, GRAD_CTL_LENGTH);
    return { scale: v[0]!, norm: v[1]!, skipped: v[2]! !== 0, skips: v[3]! };
  }

  /** The parameter (state_dict name) and element at a flat index of the parameter block, or null in the padding between tensors. */
  locate(index: number): { tensor: string; element: number } | null {
    const { offsets } = paramLayout(this.graph);
    for (let i = 0; i < this.graph.params.length; i++) {
      const p = this.graph.params[i]!;
      const e = index - offsets[i]!;
      if (e >= 0 && e < numel(p.shape)) return { tensor: p.name, element: e };
    }
    return null;
  }

  /**
   * Reads and clears the record of updates skipped for a non-finite gradient
   * since the last call (null when none was). A small readback: call it when
   * reading statistics anyway, not every step (readWindow reads both at once).
   */
  async readNonFinite(): Promise<NonFiniteSteps | null> {
    return this.takeNonFinite((await readRanges(this.device, [this.nonFiniteRange()]))[0]!);
  }

  /**
   * What a statistics window reads, in one readback: the loss statistics
   * accumulated since the program's resetStats, the per-dimension KL of the
   * last step, and (read and cleared as readNonFinite does) the record of
   * skipped updates.
   */
  async readWindow(): Promise<{ stats: Record<keyof typeof ELBO_STATS, number>; klPerDim: Float32Array; nonFinite: NonFiniteSteps | null }> {
    const p = this.program;
    const [stats, klDim, report] = await readRanges(this.device, [p.statsRange(), p.rangeOf(this.graph.loss.klDim), this.nonFiniteRange()]);
    return { stats: p.decodeStats(stats!), klPerDim: new Float32Array(klDim!), nonFinite: this.takeNonFinite(report!) };
  }

  private nonFiniteRange(): ByteRange {
    return { buffer: this.nonFinite, size: NONFINITE_REPORT_LENGTH * 4 };
  }

  /** Decodes a read of the skipped-update record, and clears the record when it holds a skip. */
  private takeNonFinite(bytes: ArrayBuffer): NonFiniteSteps | null {
    const r = decodeNonFiniteReport(new Uint32Array(bytes));
    if (r.skipped === 0) return null;
    this.device.queue.writeBuffer(this.nonFinite, 0, new Uint32Array(NONFINITE_REPORT_LENGTH));
    const at = r.index >= 0 ? this.locate(r.index) : null;
    return { skipped: r.skipped, firstStep: r.firstStep, lastStep: r.lastStep, tensor: at?.tensor ?? null, element: at?.element ?? -1 };
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.detachData();
    this.program.destroy();
    for (const c of this.clip) c.destroy();
    this.scan.destroy();
    this.optimizer.destroy();
    for (const b of this.allBuffers()) destroyBuffer(this.device, b);
  }
}
