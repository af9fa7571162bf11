/**
 * The graph IR: tensors with shapes and roles, and nodes at kernel
 * granularity (forward, loss, backward and update nodes alike), so the
 * scheduler, the memory planner and the compiler treat every step the same.
 * A node names its op (a key of the op table, src/graph/ops), its input and
 * output tensors by role name, and its op-specific attributes; what an op
 * means lives in its op module, never in a switch here.
 */

/** Where a tensor's storage lives. */
export type TensorRole =
  | 'input' // the batch (and any extra model input), written by the data feed
  | 'param' // trainable parameters: views into one block, allocated once
  | 'grad' // parameter gradients: views into one block with the parameters' layout
  | 'block' // a whole buffer owned by the caller (the parameter block, optimizer state)
  | 'temp' // activations and their gradients: planned in the pool by lifetime
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

/** What part of a training step a node belongs to (Program.encode can stop before the update). */
export type Phase = 'forward' | 'loss' | 'backward' | 'update';

/** One kernel-sized step of the graph. */
export interface Node<A = unknown> {
  /** The op's name in the op table. */
  readonly op: string;
  /** Tensors read, by the op's role names (e.g. { x, w, b }). */
  readonly ins: Readonly<Record<string, number>>;
  /** Tensors written, by role name. */
  readonly outs: Readonly<Record<string, number>>;
  /** Op-specific attributes (geometry, activation, ...). */
  readonly attrs: A;
  /** The outputs are added to rather than overwritten (so they are read too). */
  readonly accumulate: boolean;
  /** What the node computes, for Program.describe() and cost tables (e.g. "fc1: dW = dYᵀ·X (matmul)"; see ops/labels.ts). */
  readonly label: string;
  readonly phase: Phase;
}

/** Tensors a node reads (an accumulating node also reads its outputs). */
export function nodeInputs(n: Node): number[] {
  const ins = Object.values(n.ins);
  return n.accumulate ? [...ins, ...Object.values(n.outs)] : ins;
}

/** Tensors a node writes. */
export function nodeOutputs(n: Node): number[] {
  return Object.values(n.outs);
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

  add<A>(node: Node<A>): void {
    this.nodes.push(node as Node);
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

  name(id: number): string {
    return this.tensors[id]!.name;
  }
}
