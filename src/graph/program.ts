/**
 * A compiled graph: every buffer allocated once from the memory plan, every
 * pipeline, bind group and uniform buffer made up front by the op table's
 * compile rules, and the step as a flat, printable list of kernel calls
 * recorded into one compute pass. Per-step values (RNG step, β, learning
 * rate) are uniform writes; nothing is read back unless asked.
 */
import { createBuffer, destroyBuffer, readRanges, STORAGE, type ByteRange } from '../gpu/buffers.ts';
import { encodeCalls, type BufferArg, type KernelCall } from '../gpu/dispatch.ts';
import { checkTokenIndices } from '../kernels/embedding.ts';
import type { MatmulShape } from '../kernels/matmul.ts';
import type { LossGraph } from './autodiff.ts';
import { modelLayout, type GraphBase } from './build.ts';
import { numel, type Node, type Phase } from './ir.ts';
import { checkPlanFits } from './limits.ts';
import type { CompileCtx, LossSettings, StepKnobs } from './op.ts';
import { decodeElboStats, type ElboStats } from './ops/elbo.ts';
import { tokenInputs } from './ops/embedding.ts';
import { opOf } from './ops/index.ts';
import { planMemory, type MemoryPlan } from './plan.ts';

export type { LossSettings, StepKnobs };

/** One dispatch of the compiled step. */
export interface ProgramStep {
  readonly label: string;
  readonly call: KernelCall;
  readonly phase: Phase;
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
  /** The inputs and outputs (the batch, the statistics). */
  readonly inputBytes: number;
  /** Scratch buffers kernel calls own (a product split over K keeps its partial products). */
  readonly scratchBytes: number;
}

/** The matrix products of a graph, as the matmul kernels will see them. */
export function matmulShapes(fg: GraphBase): { readonly label: string; readonly shape: MatmulShape }[] {
  const g = fg.graph;
  const out: { label: string; shape: MatmulShape }[] = [];
  for (const n of g.nodes) {
    const shape = opOf(n.op).matmul?.(g, n);
    if (shape) out.push({ label: n.label, shape });
  }
  return out;
}

/** Float offset of each of the graph's parameters in the model's parameter block, and the block's size. */
export function paramLayout(fg: GraphBase): { offsets: number[]; total: number } {
  const { names, total } = modelLayout(fg.spec);
  return { offsets: fg.params.map((p) => names.get(p.name)!), total };
}

/**
 * Buffers owned by the caller: `params` (the parameter block), `grads` (the
 * gradient block, for training) and any other block tensor of the graph by
 * its name (optimizer state, the gradient control block, ...).
 */
export type ProgramBlocks = Readonly<Record<string, GPUBuffer>>;

/**
 * The compiled program of a graph: buffers, calls and the per-step knobs.
 * Parameters (and, for training, gradients and optimizer state) live in
 * blocks owned by the caller (see TrainingSession); the pool of temporaries,
 * the inputs and the outputs are owned here.
 */
export class Program {
  readonly steps: ProgramStep[] = [];
  readonly plan: MemoryPlan;
  /** The planned pool of temporary buffers. */
  readonly slots: GPUBuffer[] = [];
  /** The buffer of each input tensor, by name (x or z, and any extra input). */
  readonly inputs = new Map<string, GPUBuffer>();
  /** The buffer of the main input (x, or z for the decoder alone). */
  readonly input: GPUBuffer;
  /** The inputs read as token indices (by embedding layers), by name: the vocabulary every index must fit. */
  readonly tokenInputs: ReadonlyMap<string, { readonly vocab: number; readonly layers: readonly string[] }>;
  private readonly outputs = new Map<number, GPUBuffer>();
  private readonly owned: GPUBuffer[] = [];
  private readonly onStep: ((k: StepKnobs) => void)[] = [];
  private destroyed = false;
  /** Whether the reparameterization draws ε (false: z = μ). */
  readonly sample: boolean;

  constructor(
    readonly device: GPUDevice,
    readonly fg: GraphBase,
    private readonly blocks: ProgramBlocks,
    readonly loss: LossSettings,
    options: { readonly sample?: boolean } = {},
  ) {
    this.sample = options.sample ?? !fg.spec.autoencoder;
    checkPlanFits(device.limits, fg, 'program');
    const g = fg.graph;
    this.plan = planMemory(g);
    this.tokenInputs = tokenInputs(g);
    try {
      this.plan.slotBytes.forEach((b, i) => this.slots.push(this.own(createBuffer(device, b, STORAGE, `temp ${i}`))));
      for (const [name, t] of fg.inputs) this.inputs.set(name, this.own(createBuffer(device, numel(g.shape(t)) * 4, STORAGE, `input ${name}`)));
      this.input = this.inputs.get(g.name(fg.input))!;
      for (const t of g.tensors) {
        if (t.role === 'output' && t.aliasOf === undefined) this.outputs.set(t.id, this.own(createBuffer(device, numel(t.shape) * 4, STORAGE, t.name)));
      }
      const ctx: CompileCtx = { device, graph: g, at: (t) => this.place(t), loss, sample: this.sample };
      for (const node of g.nodes) this.compileNode(ctx, node);
    } catch (e) {
      this.destroy();
      throw e;
    }
  }

  private own(b: GPUBuffer): GPUBuffer {
    this.owned.push(b);
    return b;
  }

  private offsets: Map<number, number> | null = null;

  /** Byte offset of each parameter (and gradient) tensor in its block. */
  private blockOffset(s: number): number {
    if (!this.offsets) {
      const { offsets } = paramLayout(this.fg);
      this.offsets = new Map();
      const grads = (this.fg as { grads?: readonly number[] }).grads;
      this.fg.params.forEach((p, i) => {
        this.offsets!.set(p.tensor, offsets[i]! * 4);
        if (grads) this.offsets!.set(grads[i]!, offsets[i]! * 4);
      });
    }
    return this.offsets.get(s)!;
  }

  private block(name: string, what: string): GPUBuffer {
    const b = this.blocks[name];
    if (!b) throw new Error(`program: ${what} lives in the caller's block '${name}', which was not given (given: ${Object.keys(this.blocks).join(', ')})`);
    return b;
  }

  /** Where tensor `t` lives: a whole buffer or a range of one, to bind it in a kernel. */
  place(t: number): BufferArg {
    const g = this.fg.graph;
    const s = g.storageOf(t);
    const tt = g.tensors[s]!;
    const size = numel(g.tensors[t]!.shape) * 4;
    switch (tt.role) {
      case 'param':
        return { buffer: this.block('params', tt.name), offset: this.blockOffset(s), size };
      case 'grad':
        return { buffer: this.block('grads', tt.name), offset: this.blockOffset(s), size };
      case 'block':
        return { buffer: this.block(tt.name, tt.name), offset: 0, size };
      case 'temp':
        return { buffer: this.slots[this.plan.slotOf.get(s)!]!, offset: 0, size };
      case 'input':
        return { buffer: this.inputs.get(tt.name)!, offset: 0, size };
      case 'output':
        return { buffer: this.outputs.get(s)!, offset: 0, size };
    }
  }

  private compileNode(ctx: CompileCtx, node: Node): void {
    for (const c of opOf(node.op).compile(ctx, node)) {
      this.steps.push({ label: c.label ?? node.label, call: c.call, phase: node.phase });
      if (c.onStep) this.onStep.push(c.onStep);
    }
  }

  /**
   * Writes a batch into input `name` (x, z or an extra input) after checking
   * it: its size, and for an input read as token indices every index against
   * the vocabulary, so an out-of-range index is refused before the GPU sees it.
   */
  writeInput(name: string, values: Float32Array): void {
    const buf = this.inputs.get(name);
    if (!buf) throw new Error(`program: no input '${name}' (inputs: ${[...this.inputs.keys()].join(', ')})`);
    const t = this.fg.inputs.get(name)!;
    const shape = this.fg.graph.shape(t);
    if (values.length !== numel(shape)) throw new Error(`input '${name}': ${values.length} values; its shape [${shape.join(', ')}] holds ${numel(shape)}`);
    const tokens = this.tokenInputs.get(name);
    if (tokens) checkTokenIndices(values, tokens.vocab, `input '${name}' (token indices of ${tokens.layers.join(', ')})`, numel(shape.slice(1)));
    this.device.queue.writeBuffer(buf, 0, values.buffer, values.byteOffset, values.byteLength);
  }

  /** Sets the per-step values read by the kernels (RNG step, KL weight, learning rate) for the next submits. */
  setStep(step: number, beta: number, lr = 0): void {
    const k: StepKnobs = { step, beta, lr };
    for (const f of this.onStep) f(k);
  }

  /**
   * Records the step into one compute pass of `encoder`: `before` (e.g. the
   * batch gather), then every node, or with `update: false` every node but
   * the update's.
   */
  encode(encoder: GPUCommandEncoder, before: readonly KernelCall[] = [], opts: { readonly update?: boolean } = {}): void {
    encodeCalls(encoder, [...before, ...this.calls(opts)], 'webgpu-vae step');
  }

  /** The calls of the step in order (without the update's with `update: false`), to record with others. */
  calls(opts: { readonly update?: boolean } = {}): KernelCall[] {
    return (opts.update === false ? this.steps.filter((s) => s.phase !== 'update') : this.steps).map((s) => s.call);
  }

  private get stats(): number {
    const loss = (this.fg as Partial<LossGraph>).loss;
    if (!loss) throw new Error('program: this graph has no loss statistics');
    return loss.stats;
  }

  /** Zeroes the accumulated loss statistics. */
  resetStats(): void {
    const r = this.rangeOf(this.stats);
    this.device.queue.writeBuffer(r.buffer, r.offset ?? 0, new Float32Array(r.size / 4));
  }

  /** Where the accumulated statistics live, for a readback combined with others (`readRanges`). */
  statsRange(): ByteRange {
    return this.rangeOf(this.stats);
  }

  /** The statistics by name from the bytes of `statsRange`. */
  decodeStats(bytes: ArrayBuffer): ElboStats {
    return decodeElboStats(bytes);
  }

  /** Reads the accumulated statistics (sums over the steps since resetStats, and the count). */
  async readStats(): Promise<ElboStats> {
    return decodeElboStats((await readRanges(this.device, [this.statsRange()]))[0]!);
  }

  /** Where tensor `t` lives, for a readback. */
  rangeOf(t: number): ByteRange {
    const p = this.place(t) as { buffer: GPUBuffer; offset: number; size: number };
    return { buffer: p.buffer, offset: p.offset, size: p.size };
  }

  /** Reads one tensor (for tests and evaluation). */
  async read(t: number): Promise<Float32Array> {
    return new Float32Array((await readRanges(this.device, [this.rangeOf(t)]))[0]!);
  }

  memory(): ProgramMemory {
    const { total } = paramLayout(this.fg);
    const io = [...this.inputs.values(), ...this.outputs.values()].reduce((a, b) => a + b.size, 0);
    const scratch = this.steps.reduce((a, s) => a + (s.call.ownedBytes ?? 0), 0);
    return { paramBytes: total * 4, plannedBytes: this.plan.plannedBytes, naiveBytes: this.plan.naiveBytes, peakLiveBytes: this.plan.peakBytes, inputBytes: io, scratchBytes: scratch };
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
