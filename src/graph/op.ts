/**
 * What an op is: the interfaces every op module of src/graph/ops implements.
 *
 * A **layer** (LayerDef) is what a model definition names ("dense",
 * "conv2d", "add", ...): its JSON fields, how many inputs it takes, its
 * shape inference and parameters (PyTorch names and layouts), and the nodes
 * it adds to the graph.
 *
 * A **node op** (OpDef) is one kernel-sized step of the graph: how it
 * compiles to kernel calls, its backward rule (in terms of other nodes), its
 * cost, and its float64 reference. Autodiff, the compiler, the cost model
 * and the whole-model reference iterate over nodes and ask the op table;
 * none of them switches over op names.
 */
import type { BufferArg, KernelCall } from '../gpu/dispatch.ts';
import type { MatmulShape } from '../kernels/matmul.ts';
import type { Graph, Node, Phase } from './ir.ts';
import type { Objective } from './objective.ts';

/** Loss settings that enter the kernels. */
export interface LossSettings {
  /** KL weight at the start (changed per step through StepKnobs). */
  readonly beta: number;
  /** Free-bits threshold λ per latent dimension (0: off). */
  readonly freeBits: number;
  /** Weight γ of the L2 penalty γ·||z||² on the latent codes. */
  readonly latentL2: number;
  /** Seed of the latent noise (and of anything else drawn on the GPU). */
  readonly seed: number;
  /** The ELBO (absent) or the importance-weighted bound; buildTraining takes it to shape the graph. */
  readonly objective?: Objective;
}

/** Per-step values the compiled step reads from its uniforms. */
export interface StepKnobs {
  /** The optimizer step being taken (1-based); also names the step's random numbers. */
  readonly step: number;
  /** KL weight of this step. */
  readonly beta: number;
  /** Learning rate of this step. */
  readonly lr: number;
}

/** One dispatch of a compiled node, and how it follows the per-step knobs. */
export interface CompiledCall {
  readonly call: KernelCall;
  /** Label of this dispatch when it differs from the node's. */
  readonly label?: string;
  /** Writes the step's values into the call's uniforms (called before each step is recorded). */
  readonly onStep?: (k: StepKnobs) => void;
}

export interface CompileCtx {
  readonly device: GPUDevice;
  readonly graph: Graph;
  /** Where a tensor's storage lives (a whole buffer or a range of one). */
  at(t: number): BufferArg;
  readonly loss: LossSettings;
  /** Whether the reparameterization draws ε (false: z = μ). */
  readonly sample: boolean;
}

/** The gradient bookkeeping a backward rule works with. */
export interface GradCtx {
  readonly graph: Graph;
  /** Whether the loss depends on `t` (a gradient of it has been written). */
  has(t: number): boolean;
  /** The gradient tensor of `t` (which must exist). */
  get(t: number): number;
  /**
   * The gradient tensor of `t` for a node about to write it, and whether that
   * node must add into it (an earlier node already wrote it: `t` fans out).
   * Null when no gradient is needed (`t` is a model input).
   */
  write(t: number): { readonly d: number; readonly accumulate: boolean } | null;
  /** A new temporary (e.g. the gradient before a fused activation). */
  temp(name: string, shape: readonly number[]): number;
  /** Appends a backward node. */
  add<A>(node: NodeInit<A>): void;
  /**
   * Tensors of the loss a rule may read: the per-dimension KL (for free bits)
   * and, for the importance-weighted bound, the normalized weights (B·K).
   */
  readonly loss: { readonly klDim: number; readonly weights?: number } | null;
}

/** Values of tensors in float64, by tensor, for the whole-model reference. */
export interface RefCtx {
  readonly graph: Graph;
  readonly loss: LossSettings;
  /** Latent noise ε of the samples of z (B·J values, B·K·J for K samples per input), or null for z = μ. */
  readonly eps: Float64Array | null;
  /** The step's values (the update nodes read the step and the learning rate). */
  readonly knobs: StepKnobs;
  /** The values of tensor `t` (its storage's, for a view). */
  get(t: number): Float64Array;
  /** Writes node `n`'s output `name` (adding into it when the node accumulates). */
  write(n: Node, name: string, values: ArrayLike<number>): void;
}

/** A node as a layer or rule creates it (the phase is set by whoever adds it). */
export interface NodeInit<A> {
  readonly op: OpDef<A>;
  readonly ins: Readonly<Record<string, number>>;
  readonly outs: Readonly<Record<string, number>>;
  readonly attrs: A;
  readonly label: string;
  readonly accumulate?: boolean;
}

/** Makes a graph node from its op and fields. */
export function makeNode<A>(init: NodeInit<A>, phase: Phase): Node<A> {
  return { op: init.op.name, ins: init.ins, outs: init.outs, attrs: init.attrs, label: init.label, accumulate: init.accumulate ?? false, phase };
}

/** A node op: one kernel-sized step, from compilation to its float64 reference. */
export interface OpDef<A = unknown> {
  readonly name: string;
  /** The kernel calls of the node, made once (pipelines, bind groups and uniforms). */
  compile(c: CompileCtx, n: Node<A>): CompiledCall[];
  /** Adds the nodes that compute the gradients of the node's inputs (absent: no gradient flows through it). */
  backward?(c: GradCtx, n: Node<A>): void;
  /**
   * Gradients this node writes while computing the loss, as [tensor, its
   * gradient] (a fused loss kernel starts the backward pass: autodiff begins there).
   */
  seeds?(n: Node<A>): readonly (readonly [number, number])[];
  /** Floating-point operations; `bytes` (default: every distinct tensor read and written once) when the kernel moves something else. */
  cost(g: Graph, n: Node<A>): { readonly flops: number; readonly bytes?: number };
  /** Computes the node's outputs in float64 from its inputs' values. */
  reference(r: RefCtx, n: Node<A>): void;
  /** The matrix product the node runs, for nodes on the matmul kernels (tuning and reports). */
  matmul?(g: Graph, n: Node<A>): MatmulShape;
}

/**
 * How a parameter starts (PyTorch's default for its layer): U(-bound, bound)
 * (nn.Linear, nn.Conv2d, nn.GRU), N(0, std²) (nn.Embedding), or a constant
 * (a norm's weight 1 and bias 0).
 */
export type ParamInit =
  | { readonly kind: 'uniform'; readonly bound: number }
  | { readonly kind: 'normal'; readonly std: number }
  | { readonly kind: 'constant'; readonly value: number };

/** The init of a parameter given as a number (a uniform bound, as layers give it) or a ParamInit. */
export function paramInit(init: number | ParamInit): ParamInit {
  return typeof init === 'number' ? { kind: 'uniform', bound: init } : init;
}

/** What a layer's build sees of the graph under construction. */
export interface BuildCtx {
  readonly graph: Graph;
  readonly batch: number;
  /**
   * Declares a parameter (state_dict name, PyTorch shape, init: a number is
   * U(-bound, bound)); `follows` names an earlier parameter it is placed
   * right after in the block, so the two bind as one operand.
   */
  param(name: string, shape: readonly number[], init: number | ParamInit, follows?: string): number;
  /** What model input tensor `t` is ('x', 'z', or an extra input's type such as 'label'), or null when it is not a model input. */
  inputKind(t: number): string | null;
  /** A new activation tensor. */
  temp(name: string, shape: readonly number[]): number;
  /** A view of `of` with another shape (same storage). */
  view(of: number, name: string, shape: readonly number[]): number;
  /** Appends a forward node. */
  add<A>(node: NodeInit<A>): void;
}

/** The fields every layer may have besides its own. */
export interface LayerCommon {
  readonly type: string;
  /** The layer's name: the state_dict prefix of its parameters, and how other layers refer to it. */
  readonly name?: string;
  /** Names of the layers (or model inputs) it reads; absent: the previous layer of the list. */
  readonly inputs?: readonly string[];
}

/** A layer type of the model format. */
export interface LayerDef<L extends LayerCommon = LayerCommon> {
  readonly type: L['type'];
  /** The JSON fields of this layer type besides type, name and inputs. */
  readonly fields: readonly string[];
  /** Inputs it takes: a fixed number, 'many' (two or more), or a range [min, max] (optional inputs last). */
  readonly arity: number | 'many' | readonly [number, number];
  /** A layer with parameters needs a name (their state_dict prefix). */
  readonly hasParams: boolean;
  /** Validates the layer's own fields of untrusted JSON (`path` names it in errors). */
  parse(raw: Readonly<Record<string, unknown>>, path: string): Omit<L, keyof LayerCommon>;
  /** Adds the layer to the graph: shape inference (errors name `where` and the shapes), parameters, nodes; returns its output. */
  build(b: BuildCtx, l: L, inputs: readonly number[], where: string): number;
}
