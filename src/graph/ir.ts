/**
 * The graph IR: tensors with shapes and roles, and nodes at kernel
 * granularity (forward, loss, backward and update nodes alike), so the
 * scheduler, the memory planner and the compiler treat every step the same.
 */
import type { Activation } from '../kernels/activation-codes.ts';

/** Where a tensor's storage lives. */
export type TensorRole =
  | 'input' // the batch (and its labels), written by the data step
  | 'param' // trainable parameters: one block, allocated once
  | 'grad' // parameter gradients: one block with the parameters' layout
  | 'temp' // activations and their gradients: planned in the arena by lifetime
  | 'output'; // results kept after the step (loss statistics)

export interface Tensor {
  readonly id: number;
  readonly name: string;
  /** Full shape including the batch dimension where there is one. */
  readonly shape: readonly number[];
  readonly role: TensorRole;
  /** Another tensor whose storage this one shares (reshape/flatten views). */
  readonly aliasOf?: number;
}

export interface ConvGeometry {
  readonly batch: number;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly inH: number;
  readonly inW: number;
  readonly outH: number;
  readonly outW: number;
  readonly kernel: number;
  readonly stride: number;
  readonly padding: number;
  readonly dilation: number;
  /** conv_transpose2d only. */
  readonly outputPadding: number;
}

export type Node =
  // forward
  | { readonly op: 'dense'; readonly x: number; readonly w: number; readonly b: number; readonly y: number; readonly act: Activation; readonly layer: string }
  | { readonly op: 'conv2d' | 'conv_transpose2d'; readonly x: number; readonly w: number; readonly b: number; readonly y: number; readonly act: Activation; readonly geom: ConvGeometry; readonly layer: string }
  | { readonly op: 'activation'; readonly x: number; readonly y: number; readonly act: Activation }
  | { readonly op: 'reparameterize'; readonly mu: number; readonly logvar: number; readonly z: number; readonly sample: boolean }
  // loss: reconstruction term and its gradient w.r.t. the decoder output, in one kernel
  | { readonly op: 'recon'; readonly logits: number; readonly x: number; readonly recon: number; readonly dlogits: number; readonly logsigma?: number; readonly dlogsigma?: number }
  // loss: KL, L2 and the batch statistics
  | { readonly op: 'kl'; readonly mu: number; readonly logvar: number; readonly z: number; readonly recon: number; readonly kl: number; readonly total: number; readonly klDim: number; readonly stats: number }
  // backward
  | { readonly op: 'latent_backward'; readonly dz: number; readonly mu: number; readonly logvar: number; readonly klDim: number; readonly z: number; readonly dmu: number; readonly dlogvar: number }
  | { readonly op: 'activation_backward'; readonly saved: number; readonly fromOutput: boolean; readonly dy: number; readonly dx: number; readonly act: Activation; readonly accumulate: boolean }
  | { readonly op: 'matmul'; readonly a: number; readonly b: number; readonly c: number; readonly m: number; readonly n: number; readonly k: number; readonly transA: boolean; readonly transB: boolean; readonly accumulate: boolean; readonly note: string }
  | { readonly op: 'sum_axes'; readonly x: number; readonly out: number; readonly outer: number; readonly channels: number; readonly inner: number; readonly accumulate: boolean; readonly note: string }
  | { readonly op: 'conv_backward_input' | 'conv_backward_weight'; readonly kind: 'conv2d' | 'conv_transpose2d'; readonly x: number; readonly w: number; readonly dy: number; readonly out: number; readonly geom: ConvGeometry; readonly accumulate: boolean; readonly layer: string };

export type NodeOp = Node['op'];

/** Tensors a node reads. */
export function nodeInputs(n: Node): number[] {
  switch (n.op) {
    case 'dense':
    case 'conv2d':
    case 'conv_transpose2d':
      return [n.x, n.w, n.b];
    case 'activation':
      return [n.x];
    case 'reparameterize':
      return [n.mu, n.logvar];
    case 'recon':
      return n.logsigma !== undefined ? [n.logits, n.x, n.logsigma] : [n.logits, n.x];
    case 'kl':
      return [n.mu, n.logvar, n.z, n.recon];
    case 'latent_backward':
      return [n.dz, n.mu, n.logvar, n.klDim, n.z];
    case 'activation_backward':
      return n.accumulate ? [n.saved, n.dy, n.dx] : [n.saved, n.dy];
    case 'matmul':
      return n.accumulate ? [n.a, n.b, n.c] : [n.a, n.b];
    case 'sum_axes':
      return n.accumulate ? [n.x, n.out] : [n.x];
    case 'conv_backward_input':
      return n.accumulate ? [n.w, n.dy, n.out] : [n.w, n.dy];
    case 'conv_backward_weight':
      return [n.x, n.dy];
  }
}

/** Tensors a node writes. */
export function nodeOutputs(n: Node): number[] {
  switch (n.op) {
    case 'dense':
    case 'conv2d':
    case 'conv_transpose2d':
    case 'activation':
      return [n.y];
    case 'reparameterize':
      return [n.z];
    case 'recon':
      return n.dlogsigma !== undefined ? [n.recon, n.dlogits, n.dlogsigma] : [n.recon, n.dlogits];
    case 'kl':
      return [n.kl, n.total, n.klDim, n.stats];
    case 'latent_backward':
      return [n.dmu, n.dlogvar];
    case 'activation_backward':
      return [n.dx];
    case 'matmul':
      return [n.c];
    case 'sum_axes':
      return [n.out];
    case 'conv_backward_input':
    case 'conv_backward_weight':
      return [n.out];
  }
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A graph under construction: tensors by id and nodes in schedule order. */
export class Graph {
  readonly tensors: Tensor[] = [];
  readonly nodes: Node[] = [];
  /** Tensors read after the step (results): the memory plan keeps them to the end. */
  readonly outputs = new Set<number>();

  tensor(name: string, shape: readonly number[], role: TensorRole, aliasOf?: number): number {
    const id = this.tensors.length;
    this.tensors.push({ id, name, shape: [...shape], role, ...(aliasOf !== undefined ? { aliasOf } : {}) });
    return id;
  }

  add(node: Node): void {
    this.nodes.push(node);
  }

  /** The tensor whose storage `id` uses (itself unless it is a view). */
  storageOf(id: number): number {
    let t = this.tensors[id]!;
    while (t.aliasOf !== undefined) t = this.tensors[t.aliasOf]!;
    return t.id;
  }

  shape(id: number): readonly number[] {
    return this.tensors[id]!.shape;
  }
}
