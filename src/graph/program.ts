/**
 * A compiled training (or evaluation) step: every buffer allocated once from
 * the memory plan, every pipeline, bind group and uniform buffer made up
 * front, and the step as a flat, printable list of kernel calls recorded into
 * one compute pass. Per-step values (RNG step, β, learning rate, batch
 * position) are uniform writes; nothing is read back unless asked.
 */
import { createBuffer, destroyBuffer, readRanges, STORAGE, type ByteRange } from '../gpu/buffers.ts';
import { activation, activationBackward } from '../kernels/activation.ts';
import { conv2d, conv2dBackward } from '../kernels/conv2d.ts';
import { convTranspose2d, convTranspose2dBackward } from '../kernels/conv_transpose2d.ts';
import { ELBO_STATS, ELBO_STATS_SIZE, elboKl, elboRecon, latentBackward } from '../kernels/elbo.ts';
import { encodeCalls, type BufferArg, type KernelCall } from '../gpu/dispatch.ts';
import { matmul, type MatmulShape } from '../kernels/matmul.ts';
import { sumAxes } from '../kernels/reduce.ts';
import { reparameterize } from '../kernels/reparameterize.ts';
import type { LikelihoodSpec } from '../model/spec.ts';
import { modelLayout, type GraphBase } from './build.ts';
import { numel, type ConvGeometry, type Node } from './ir.ts';
import { checkPlanFits } from './limits.ts';
import { planMemory, type MemoryPlan } from './plan.ts';

/** Loss settings that enter the kernels. */
export interface LossSettings {
  /** KL weight at the start (change per step with setStep). */
  readonly beta: number;
  /** Free-bits threshold λ per latent dimension (0: off). */
  readonly freeBits: number;
  /** Weight γ of the L2 penalty γ·||z||² on the latent codes. */
  readonly latentL2: number;
  /** Seed of the latent noise (and of anything else drawn on the GPU). */
  readonly seed: number;
}

/** One entry of the compiled step. */
export interface ProgramStep {
  readonly label: string;
  readonly call: KernelCall;
}

/** Where each tensor's storage lives. */
export interface Placement {
  readonly buffer: GPUBuffer;
  readonly offset: number;
  readonly size: number;
}

export interface ProgramMemory {
  /** Parameter block (also the size of the gradient block). */
  readonly paramBytes: number;
  /** Temporaries, as planned (the buffer pool). */
  readonly plannedBytes: number;
  /** Temporaries without reuse: the sum of their sizes. */
  readonly naiveBytes: number;
  /** The least any plan could use for the temporaries: the most bytes live at one node of the schedule. */
  readonly peakLiveBytes: number;
  /** The batch input and the statistics block. */
  readonly inputBytes: number;
}

/** The matrix products of a graph (dense layers and backward products), as the matmul kernels will see them. */
export function matmulShapes(fg: GraphBase): { readonly label: string; readonly shape: MatmulShape }[] {
  const g = fg.graph;
  const out: { label: string; shape: MatmulShape }[] = [];
  for (const node of g.nodes) {
    if (node.op === 'dense') {
      const [, I] = g.shape(node.x) as [number, number];
      out.push({ label: `${node.layer} forward`, shape: { m: fg.batch, n: g.shape(node.w)[0]!, k: I, transB: true } });
    } else if (node.op === 'matmul') {
      out.push({ label: node.note, shape: { m: node.m, n: node.n, k: node.k, transA: node.transA, transB: node.transB } });
    }
  }
  return out;
}

/** Float offset of each of the graph's parameters in the model's parameter block, and the block's size. */
export function paramLayout(fg: GraphBase): { offsets: number[]; total: number } {
  const { names, total } = modelLayout(fg.spec);
  return { offsets: fg.params.map((p) => names.get(p.name)!), total };
}

function convOptions(g: ConvGeometry) {
  return {
    batch: g.batch,
    inChannels: g.inChannels,
    outChannels: g.outChannels,
    inH: g.inH,
    inW: g.inW,
    kernel: g.kernel,
    stride: g.stride,
    padding: g.padding,
    dilation: g.dilation,
  };
}

/** Written over the statistics by resetStats. */
const ZERO_STATS = new Float32Array(ELBO_STATS_SIZE);

/**
 * The compiled program of a graph: buffers, calls and the per-step knobs.
 * Parameters (and, for training, gradients) live in blocks owned by the
 * caller (see TrainingSession); the arena, the input and the statistics are
 * owned here.
 */
export class Program {
  readonly steps: ProgramStep[] = [];
  readonly plan: MemoryPlan;
  /** The planned pool of temporary buffers. */
  readonly slots: GPUBuffer[];
  readonly input: GPUBuffer;
  readonly stats: GPUBuffer;
  private readonly owned: GPUBuffer[] = [];
  private readonly stepCalls: { call: KernelCall; keys: ('step' | 'beta')[] }[] = [];
  private destroyed = false;
  /** Whether the reparameterization draws ε (false: z = μ). */
  readonly sample: boolean;
  /** Where a tensor lives, to bind it in other kernels. */
  readonly place: (t: number) => BufferArg;

  constructor(
    readonly device: GPUDevice,
    readonly fg: GraphBase,
    blocks: { readonly params: GPUBuffer; readonly grads?: GPUBuffer },
    readonly loss: LossSettings,
    options: { readonly sample?: boolean } = {},
  ) {
    this.sample = options.sample ?? !fg.spec.autoencoder;
    checkPlanFits(device.limits, fg, 'program');
    const g = fg.graph;
    this.plan = planMemory(g);
    this.slots = [];
    const { offsets } = paramLayout(fg);
    const paramOffset = new Map<number, number>();
    fg.params.forEach((p, i) => paramOffset.set(p.tensor, offsets[i]! * 4));
    const gradOffset = new Map<number, number>();
    const grads = (fg as { grads?: readonly number[] }).grads;
    grads?.forEach((d, i) => gradOffset.set(d, offsets[i]! * 4));
    this.plan.slotBytes.forEach((b, i) => this.slots.push(this.own(createBuffer(device, b, STORAGE, `temp ${i}`))));
    this.input = this.own(createBuffer(device, numel(g.shape(fg.input)) * 4, STORAGE, 'input'));
    this.stats = this.own(createBuffer(device, ELBO_STATS_SIZE * 4, STORAGE, 'stats'));
    const place = (t: number): BufferArg => {
      const s = g.storageOf(t);
      const tt = g.tensors[s]!;
      const size = numel(g.tensors[t]!.shape) * 4;
      switch (tt.role) {
        case 'param':
          return { buffer: blocks.params, offset: paramOffset.get(s)!, size };
        case 'grad':
          if (!blocks.grads) throw new Error(`program: ${tt.name} needs a gradient block`);
          return { buffer: blocks.grads, offset: gradOffset.get(s)!, size };
        case 'temp':
          return { buffer: this.slots[this.plan.slotOf.get(s)!]!, offset: 0, size };
        case 'input':
          return { buffer: this.input, offset: 0, size };
        case 'output':
          return { buffer: this.stats, offset: 0, size };
      }
    };
    this.place = place;
    try {
      for (const node of g.nodes) this.compileNode(node, place);
    } catch (e) {
      this.destroy();
      throw e;
    }
  }

  private own(b: GPUBuffer): GPUBuffer {
    this.owned.push(b);
    return b;
  }

  private add(label: string, call: KernelCall, keys: ('step' | 'beta')[] = []): void {
    this.steps.push({ label, call });
    if (keys.length) this.stepCalls.push({ call, keys });
  }

  private compileNode(node: Node, at: (t: number) => BufferArg): void {
    const d = this.device;
    const g = this.fg.graph;
    const B = this.fg.batch;
    const J = this.fg.spec.latent;
    const { beta, freeBits, latentL2, seed } = this.loss;
    const sample = this.sample;
    const klBeta = this.fg.spec.autoencoder ? 0 : beta;
    switch (node.op) {
      case 'dense': {
        const [, I] = g.shape(node.x) as [number, number];
        const O = g.shape(node.w)[0]!;
        this.add(`${node.layer} forward`, matmul(d, { a: at(node.x), b: at(node.w), bias: at(node.b), c: at(node.y) }, { m: B, n: O, k: I, transB: true, activation: node.act }));
        return;
      }
      case 'conv2d':
        this.add(`${node.layer} forward`, conv2d(d, { x: at(node.x), weight: at(node.w), bias: at(node.b), y: at(node.y) }, { ...convOptions(node.geom), activation: node.act }));
        return;
      case 'conv_transpose2d':
        this.add(`${node.layer} forward`, convTranspose2d(d, { x: at(node.x), weight: at(node.w), bias: at(node.b), y: at(node.y) }, { ...convOptions(node.geom), outputPadding: node.geom.outputPadding, activation: node.act }));
        return;
      case 'activation':
        this.add(`${node.act} forward`, activation(d, { x: at(node.x), y: at(node.y) }, { n: numel(g.shape(node.x)), activation: node.act }));
        return;
      case 'reparameterize':
        this.add('reparameterize', reparameterize(d, { mu: at(node.mu), logvar: at(node.logvar), z: at(node.z) }, { batch: B, latent: J, seed, step: 0, sample }), ['step']);
        return;
      case 'recon': {
        const lk: LikelihoodSpec = this.fg.spec.likelihood;
        const D = numel(g.shape(node.logits).slice(1));
        this.add(
          `reconstruction (${lk.type})`,
          elboRecon(d, { logits: at(node.logits), x: at(node.x), recon: at(node.recon), dlogits: at(node.dlogits) }, {
            batch: B,
            features: D,
            likelihood: lk.type,
            gradScale: 1 / B,
            ...(lk.type === 'categorical' ? { groups: D / lk.classes } : {}),
            ...(lk.type === 'gaussian' ? { logSigma: lk.logSigma ?? 0 } : {}),
          }),
        );
        return;
      }
      case 'kl':
        this.add(
          'KL and statistics',
          elboKl(d, { recon: at(node.recon), mu: at(node.mu), logvar: at(node.logvar), z: at(node.z), klDim: at(node.klDim), kl: at(node.kl), total: at(node.total), stats: at(node.stats) }, {
            batch: B, latent: J, beta: klBeta, gamma: latentL2, freeBits, accumulate: true,
          }),
          ['beta'],
        );
        return;
      case 'latent_backward':
        this.add(
          'latent backward (reparameterization, KL, L2)',
          latentBackward(d, { dz: at(node.dz), mu: at(node.mu), logvar: at(node.logvar), klDim: at(node.klDim), dmu: at(node.dmu), dlogvar: at(node.dlogvar) }, {
            batch: B, latent: J, seed, step: 0, sample, beta: klBeta, gamma: latentL2, freeBits, gradScale: 1 / B,
          }),
          ['step', 'beta'],
        );
        return;
      case 'activation_backward': {
        const n = numel(g.shape(node.dy));
        const bufs = node.fromOutput ? { y: at(node.saved), dy: at(node.dy), dx: at(node.dx) } : { x: at(node.saved), dy: at(node.dy), dx: at(node.dx) };
        this.add(`${node.act} backward`, activationBackward(d, bufs, { n, activation: node.act, accumulate: node.accumulate }));
        return;
      }
      case 'matmul':
        this.add(node.note, matmul(d, { a: at(node.a), b: at(node.b), c: at(node.c) }, { m: node.m, n: node.n, k: node.k, transA: node.transA, transB: node.transB, accumulate: node.accumulate }));
        return;
      case 'sum_axes':
        this.add(node.note, sumAxes(d, { x: at(node.x), out: at(node.out) }, { outer: node.outer, channels: node.channels, inner: node.inner, accumulate: node.accumulate }));
        return;
      case 'conv_backward_weight':
      case 'conv_backward_input': {
        const weight = node.op === 'conv_backward_weight';
        const bufs = weight ? { x: at(node.x), dy: at(node.dy), dweight: at(node.out) } : { weight: at(node.w), dy: at(node.dy), dx: at(node.out) };
        const o = { ...convOptions(node.geom), accumulate: node.accumulate };
        const calls = node.kind === 'conv2d' ? conv2dBackward(d, bufs, o) : convTranspose2dBackward(d, bufs, { ...o, outputPadding: node.geom.outputPadding });
        for (const c of calls) this.add(`${node.layer}: ${weight ? 'dW' : 'dX'}`, c);
        return;
      }
    }
  }

  /** Sets the per-step values read by the kernels (RNG step, KL weight) for the next submits. */
  setStep(step: number, beta: number): void {
    const klBeta = this.fg.spec.autoencoder ? 0 : beta;
    for (const { call, keys } of this.stepCalls) {
      const v: Record<string, number> = {};
      if (keys.includes('step')) v.step = step >>> 0;
      if (keys.includes('beta')) v.beta = klBeta;
      call.setParams(v);
    }
  }

  /** Records the whole step into one compute pass of `encoder`. */
  encode(encoder: GPUCommandEncoder, extraBefore: readonly KernelCall[] = [], extraAfter: readonly KernelCall[] = []): void {
    encodeCalls(encoder, [...extraBefore, ...this.steps.map((s) => s.call), ...extraAfter], 'webgpu-vae step');
  }

  /** Zeroes the accumulated loss statistics. */
  resetStats(): void {
    this.device.queue.writeBuffer(this.stats, 0, ZERO_STATS);
  }

  /** Where the accumulated statistics live, for a readback combined with others (`readRanges`). */
  statsRange(): ByteRange {
    return { buffer: this.stats, size: ELBO_STATS_SIZE * 4 };
  }

  /** The statistics by name from the bytes of `statsRange`. */
  decodeStats(bytes: ArrayBuffer): Record<keyof typeof ELBO_STATS, number> {
    const v = new Float32Array(bytes);
    const out = {} as Record<keyof typeof ELBO_STATS, number>;
    for (const [k, i] of Object.entries(ELBO_STATS) as [keyof typeof ELBO_STATS, number][]) out[k] = v[i]!;
    return out;
  }

  /** Reads the accumulated statistics (sums over the steps since resetStats, and the count). */
  async readStats(): Promise<Record<keyof typeof ELBO_STATS, number>> {
    return this.decodeStats((await readRanges(this.device, [this.statsRange()]))[0]!);
  }

  /** Where tensor `t` lives, for a readback (`at` places tensors that live in a caller's block). */
  rangeOf(t: number, at?: (t: number) => BufferArg): ByteRange {
    const g = this.fg.graph;
    const s = g.storageOf(t);
    const tt = g.tensors[s]!;
    const size = numel(g.tensors[t]!.shape) * 4;
    if (tt.role === 'temp') return { buffer: this.slots[this.plan.slotOf.get(s)!]!, size };
    if (tt.role === 'input') return { buffer: this.input, size };
    if (tt.role === 'output') return { buffer: this.stats, size };
    if (!at) throw new Error(`program.read: ${tt.name} lives in a caller's block`);
    const b = at(t) as { buffer: GPUBuffer; offset: number };
    return { buffer: b.buffer, offset: b.offset, size };
  }

  /** Reads one tensor (for tests and evaluation). */
  async read(t: number, at?: (t: number) => BufferArg): Promise<Float32Array> {
    return new Float32Array((await readRanges(this.device, [this.rangeOf(t, at)]))[0]!);
  }

  memory(): ProgramMemory {
    const { total } = paramLayout(this.fg);
    return {
      paramBytes: total * 4, plannedBytes: this.plan.plannedBytes, naiveBytes: this.plan.naiveBytes, peakLiveBytes: this.plan.peakBytes,
      inputBytes: this.input.size + this.stats.size,
    };
  }

  /** The compiled step as text: one line per dispatch. */
  describe(): string {
    return this.steps
      .map((s, i) => `${String(i).padStart(3)}  ${s.call.label.padEnd(58)} wg ${s.call.workgroups.join('x').padEnd(10)} ${s.label}`)
      .join('\n');
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const s of this.steps) s.call.destroy();
    for (const b of this.owned) destroyBuffer(this.device, b);
  }
}
