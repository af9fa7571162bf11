/**
 * A training session on one device: the compiled training step (forward,
 * loss, backward and update, one graph), the blocks it updates (parameters,
 * gradients, optimizer state: one buffer each, allocated once), and the data
 * feed. A step is one command buffer and one submit, with no readback.
 */
import { createBuffer, destroyBuffer, readF32, readRanges, STORAGE, type ByteRange } from '../gpu/buffers.ts';
import { ReadbackRing } from '../gpu/readback-ring.ts';
import type { KernelCall } from '../gpu/dispatch.ts';
import { buildTraining, type TrainingGraph } from '../graph/autodiff.ts';
import { numel } from '../graph/ir.ts';
import { checkSamplesFit } from '../graph/limits.ts';
import { ELBO, type Objective } from '../graph/objective.ts';
import type { ElboStats } from '../graph/ops/elbo.ts';
import type { OptimizerName, OptimizerSettings } from '../graph/ops/update.ts';
import { matmulShapes, Program, type LossSettings } from '../graph/program.ts';
import type { ModelSpec } from '../graph/spec.ts';
import { matmulTuning, tuneMatmul, type MatmulTuning } from '../kernels/autotune.ts';
import { checkTokenIndices } from '../kernels/embedding.ts';
import { matmulShapeClass, matmulShapeKey, matmulVariant, type MatmulVariant } from '../kernels/matmul.ts';
import { decodeNonFiniteReport, NONFINITE_REPORT_LENGTH } from '../kernels/nonfinite.ts';
import { inputSize, type Dataset } from '../data/dataset.ts';
import { feedSources, makeFeed, type DataFeed } from './feed.ts';
import { initParams, ParamLayout, type StateDict } from './params.ts';

export { initParams, type StateDict, type OptimizerName, type OptimizerSettings };

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
 * `batch` for `objective` (shapes already tuned on the device are not timed
 * again) and returns the device's tuning so far.
 */
export async function tuneForTraining(device: GPUDevice, spec: ModelSpec, batch: number, log?: (line: string) => void, objective: Objective = ELBO): Promise<MatmulTuning> {
  const shapes = matmulShapes(buildTraining(spec, batch, undefined, objective)).map((x) => x.shape);
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

/** What a statistics window reads: the loss statistics, the per-dimension KL of the last step, and the skipped updates. */
export interface WindowRead {
  readonly stats: ElboStats;
  readonly klPerDim: Float32Array;
  readonly nonFinite: NonFiniteSteps | null;
}

/** Statistics windows whose reads may be pending at once (queueWindow). */
export const WINDOW_SLOTS = 2;

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
  readonly layout: ParamLayout;
  /** Every block the step updates, by its tensor's name (params, grads, adam.m, ..., grad ctl, non-finite report). */
  readonly blocks: Readonly<Record<string, GPUBuffer>>;
  readonly params: GPUBuffer;
  readonly grads: GPUBuffer;
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
  private feed: DataFeed | null = null;
  /** The staging buffers of statistics windows (made once, with the step). */
  private readonly windows: ReadbackRing;
  private destroyed = false;

  /** A session, after tuning the matmul kernels on its shapes when `options.autotune` is set. */
  static async create(device: GPUDevice, options: SessionOptions, log?: (line: string) => void): Promise<TrainingSession> {
    if (options.autotune) await tuneForTraining(device, options.spec, options.batch, log, options.loss.objective);
    return new TrainingSession(device, options);
  }

  constructor(readonly device: GPUDevice, readonly options: SessionOptions) {
    this.tuning = matmulTuning(device);
    const objective = options.loss.objective ?? ELBO;
    const tg = buildTraining(options.spec, options.batch, options.optimizer, objective);
    checkSamplesFit(device.limits, tg, 'training', (k) => buildTraining(options.spec, options.batch, options.optimizer, { ...objective, k } as Objective));
    this.matmulChoices = choicesOf(device, tg, this.tuning);
    this.graph = tg;
    this.layout = new ParamLayout(options.spec);
    this.paramFloats = this.layout.floats;
    const blocks: Record<string, GPUBuffer> = {};
    for (const t of tg.graph.tensors) {
      if (t.role === 'block') blocks[t.name] = createBuffer(device, numel(t.shape) * 4, STORAGE, t.name);
    }
    this.blocks = blocks;
    this.params = blocks.params!;
    this.grads = blocks.grads!;
    this.ctl = blocks['grad ctl']!;
    this.nonFinite = blocks['non-finite report']!;
    try {
      this.program = new Program(device, tg, blocks, options.loss);
    } catch (e) {
      for (const b of Object.values(blocks)) destroyBuffer(device, b);
      throw e;
    }
    this.windows = new ReadbackRing(device, [this.program.statsRange(), this.program.rangeOf(tg.loss.klDim), this.nonFiniteRange()], WINDOW_SLOTS, 'statistics window');
  }

  /** Names of the optimizer's state blocks ('m' and 'v' for Adam, 'momentum' for SGD with momentum). */
  get stateNames(): string[] {
    return [...this.graph.update!.state.keys()];
  }

  /** The optimizer state blocks, in the order of stateNames. */
  get state(): GPUBuffer[] {
    return [...this.graph.update!.state.values()].map((t) => this.blocks[this.graph.graph.name(t)]!);
  }

  /** Uploads parameters by state_dict name; every parameter must be given with its exact size. */
  setParams(values: ReadonlyMap<string, ArrayLike<number>>): void {
    this.device.queue.writeBuffer(this.params, 0, this.layout.pack(values));
  }

  /** Reads the parameters (or, with `grads`, the last gradients) back by state_dict name. */
  async getParams(which: 'params' | 'grads' = 'params'): Promise<StateDict> {
    return this.layout.unpack(await readF32(this.device, which === 'params' ? this.params : this.grads, this.paramFloats));
  }

  /** Reads the optimizer state blocks back, by name, in the saved layout (ParamLayout.savedOffsets). */
  async getOptimizerState(): Promise<Map<string, Float32Array>> {
    const names = this.stateNames;
    const read = await readRanges(this.device, this.state.map((b) => ({ buffer: b, size: this.paramFloats * 4 })));
    return new Map(read.map((bytes, i) => [names[i]!, this.layout.toSaved(new Float32Array(bytes))]));
  }

  /** The parameters, the optimizer state and the count of skipped updates, in one readback. */
  async readTrainingBlocks(): Promise<{ params: StateDict; optimizer: Map<string, Float32Array>; skips: number }> {
    const names = this.stateNames;
    const [params, ctl, ...state] = await readRanges(this.device, [
      { buffer: this.params, size: this.paramFloats * 4 }, { buffer: this.ctl, size: 16 }, ...this.state.map((b) => ({ buffer: b, size: this.paramFloats * 4 })),
    ]);
    return {
      params: this.layout.unpack(new Float32Array(params!)),
      optimizer: new Map(state.map((bytes, i) => [names[i]!, this.layout.toSaved(new Float32Array(bytes))])),
      skips: new Float32Array(ctl!)[3]!,
    };
  }

  /** Restores the optimizer state blocks (in the saved layout) and the step count (resuming a run). */
  setOptimizerState(blocks: ReadonlyMap<string, Float32Array>, step: number): void {
    const state = this.state;
    this.stateNames.forEach((n, i) => {
      const v = blocks.get(n);
      if (!v || v.length !== this.layout.savedFloats) throw new Error(`optimizer state '${n}': expected ${this.layout.savedFloats} values, got ${v?.length ?? 'none'}`);
      const block = this.layout.fromSaved(v);
      this.device.queue.writeBuffer(state[i]!, 0, block);
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
   * Feeds a dataset to the step: kept on the GPU and gathered there in the
   * order set by setOrder, or (larger than the device's storage binding
   * limit, or with `stream`) kept on the CPU with each batch written before
   * its step, with the same values.
   */
  attachData(ds: Dataset, opts: { readonly stream?: boolean } = {}): void {
    const D = inputSize(ds);
    const want = numel(this.options.spec.input);
    if (D !== want) throw new Error(`${ds.name}: samples of shape [${ds.shape.join(', ')}] (${D} values) do not fit a model whose input is [${this.options.spec.input.join(', ')}] (${want})`);
    const B = this.options.batch;
    if (ds.count < B) throw new Error(`${ds.name}: ${ds.count} samples is fewer than the batch size ${B}`);
    const tokens = this.program.tokenInputs.get('x');
    if (tokens) {
      // Checked once here, before the dataset is uploaded: every batch gathered from it is then in range.
      if (!(ds.data instanceof Float32Array)) throw new Error(`${ds.name}: the model reads its input as token indices (${tokens.layers.join(', ')}); the dataset must hold them as f32 (bytes are read as v/255)`);
      checkTokenIndices(ds.data, tokens.vocab, `${ds.name} (token indices of ${tokens.layers.join(', ')})`, D);
    }
    this.detachData();
    const binarize = !!this.options.dynamicBinarize;
    const sources = feedSources(ds, this.program.inputs, this.options.spec.extraInputs ?? {}, binarize);
    this.feed = makeFeed(this.device, ds, sources, { batch: B, dynamicBinarize: binarize, seed: this.options.loss.seed }, opts.stream);
  }

  private get attached(): DataFeed {
    if (!this.feed) throw new Error('no dataset attached');
    return this.feed;
  }

  /** Batches per epoch of the attached dataset (the last one is topped up from the epoch's start). */
  get stepsPerEpoch(): number {
    return this.attached.stepsPerEpoch;
  }

  /** Whether batches are written from the CPU rather than gathered on the GPU. */
  get streaming(): boolean {
    return this.feed?.streaming ?? false;
  }

  /** Sets the epoch's sample order (a permutation of the attached dataset). */
  setOrder(perm: Uint32Array): void {
    this.attached.setOrder(perm);
  }

  private detachData(): void {
    this.feed?.destroy();
    this.feed = null;
  }

  /**
   * Records one step into `encoder`: the batch (when a dataset is attached;
   * its position is `batchIndex` within the epoch), forward, loss, backward
   * and, unless `update` is false, clipping, the non-finite scan and the optimizer.
   */
  encodeStep(encoder: GPUCommandEncoder, knobs: StepKnobs, batchIndex = 0, update = true): void {
    const next = this.step + 1;
    this.program.setStep(next, knobs.beta, knobs.lr);
    const before = this.feed ? this.feed.prepare(batchIndex, next) : [];
    this.program.encode(encoder, before, { update });
    if (update) this.step = next;
  }

  /** Device memory of the step (the dataset excluded) against the analytic minimum. */
  memory(): SessionMemory {
    const m = this.program.memory();
    const sized = (names: string[]) => names.reduce((a, n) => a + this.blocks[n]!.size, 0);
    const stateBytes = this.state.reduce((a, b) => a + b.size, 0);
    const all = Object.values(this.blocks).reduce((a, b) => a + b.size, 0);
    const otherBytes = m.inputBytes + m.scratchBytes + all - sized(['params', 'grads']) - stateBytes;
    const fixed = this.params.size + this.grads.size + stateBytes + otherBytes;
    return {
      paramBytes: this.params.size, gradBytes: this.grads.size, stateBytes, plannedBytes: m.plannedBytes, peakLiveBytes: m.peakLiveBytes, otherBytes,
      totalBytes: fixed + m.plannedBytes, minimumBytes: fixed + m.peakLiveBytes,
    };
  }

  /** Kernel dispatches in one training step (data gather, program with its update). */
  get dispatchesPerStep(): number {
    return this.stepCalls().length;
  }

  /** Every kernel call of one training step in order: the batch gather, then the program (forward, loss, backward, update). */
  stepCalls(): KernelCall[] {
    return [...(this.feed?.calls ?? []), ...this.program.calls()];
  }

  /** One training step in its own command buffer and submit (no wait). */
  runStep(knobs: StepKnobs, batchIndex = 0): void {
    const enc = this.device.createCommandEncoder({ label: `step ${this.step + 1}` });
    this.encodeStep(enc, knobs, batchIndex, true);
    this.device.queue.submit([enc.finish()]);
  }

  /** The gradient control block: clip scale, gradient norm, skip flag of the last step, steps skipped so far. */
  async readControl(): Promise<{ scale: number; norm: number; skipped: boolean; skips: number }> {
    const v = await readF32(this.device, this.ctl, 4);
    return { scale: v[0]!, norm: v[1]!, skipped: v[2]! !== 0, skips: v[3]! };
  }

  /** The parameter (state_dict name) and element at a flat index of the parameter block, or null in the padding between tensors. */
  locate(index: number): { tensor: string; element: number } | null {
    return this.layout.locate(index);
  }

  /**
   * Reads and clears the record of updates skipped for a non-finite gradient
   * since the last call (null when none was). A small readback: call it when
   * reading statistics anyway, not every step (queueWindow reads both at once).
   */
  async readNonFinite(): Promise<NonFiniteSteps | null> {
    return this.takeNonFinite((await readRanges(this.device, [this.nonFiniteRange()]))[0]!);
  }

  /**
   * A statistics window, read without waiting for the queue to drain: one
   * submit copies the loss statistics accumulated since the last reset, the
   * per-dimension KL of the last step and the record of skipped updates into
   * a staging buffer of a ring made once, then clears the record (and, with
   * `reset`, the statistics) behind the copy. The promise settles when the GPU
   * has reached the copy; steps submitted meanwhile run on. At most
   * WINDOW_SLOTS windows may be pending (a read beyond that throws).
   */
  queueWindow(opts: { readonly reset?: boolean } = {}): Promise<WindowRead> {
    const p = this.program;
    const stats = p.statsRange();
    const report = this.nonFiniteRange();
    return this.windows
      .read((enc) => {
        enc.clearBuffer(report.buffer, report.offset ?? 0, report.size);
        if (opts.reset) enc.clearBuffer(stats.buffer, stats.offset ?? 0, stats.size);
      })
      .then(([st, klDim, skips]) => ({ stats: p.decodeStats(st!), klPerDim: new Float32Array(klDim!), nonFinite: this.decodeNonFinite(skips!) }));
  }

  private nonFiniteRange(): ByteRange {
    return { buffer: this.nonFinite, size: NONFINITE_REPORT_LENGTH * 4 };
  }

  /** Decodes a read of the skipped-update record, and clears the record when it holds a skip. */
  private takeNonFinite(bytes: ArrayBuffer): NonFiniteSteps | null {
    const r = this.decodeNonFinite(bytes);
    if (r) this.device.queue.writeBuffer(this.nonFinite, 0, new Uint32Array(NONFINITE_REPORT_LENGTH));
    return r;
  }

  /** Decodes a read of the skipped-update record (null: no update was skipped). */
  private decodeNonFinite(bytes: ArrayBuffer): NonFiniteSteps | null {
    const r = decodeNonFiniteReport(new Uint32Array(bytes));
    if (r.skipped === 0) return null;
    const at = r.index >= 0 ? this.locate(r.index) : null;
    return { skipped: r.skipped, firstStep: r.firstStep, lastStep: r.lastStep, tensor: at?.tensor ?? null, element: at?.element ?? -1 };
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.detachData();
    this.windows.destroy();
    this.program.destroy();
    for (const b of Object.values(this.blocks)) destroyBuffer(this.device, b);
  }
}
