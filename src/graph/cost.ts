/**
 * The cost of a training step on paper: floating-point operations and the
 * bytes each kernel must move (every tensor it reads once, every tensor it
 * writes once: the compulsory traffic, what a kernel that keeps its tiles in
 * registers or workgroup memory approaches), and their ratio, the arithmetic
 * intensity. Element-wise kernels count a few operations per element (see
 * ELEMENTWISE_FLOPS); products count 2 per multiply-add.
 */
import { nodeInputs, nodeOutputs, numel, type Graph, type Node } from './ir.ts';

/** Operations per element of the element-wise and loss kernels (approximate: exp/log count as one). */
export const ELEMENTWISE_FLOPS = {
  activation: 1,
  activationBackward: 2,
  reparameterize: 3, // μ + exp(½ log σ²)·ε
  recon: 8, // softplus, product, sum; and σ(l) − x for the gradient
  kl: 6,
  latentBackward: 8,
  sum: 1,
  adam: 12, // m, v, bias corrections, √, division, update
  gather: 1,
} as const;

export interface KernelCost {
  readonly label: string;
  readonly op: Node['op'] | 'adam' | 'gather';
  readonly flops: number;
  readonly bytes: number;
  /** flops / bytes. */
  readonly intensity: number;
}

function nodeFlops(g: Graph, n: Node, batch: number): number {
  const e = ELEMENTWISE_FLOPS;
  switch (n.op) {
    case 'dense': {
      const [, I] = g.shape(n.x) as [number, number];
      const O = g.shape(n.w)[0]!;
      return 2 * batch * I * O + 2 * batch * O;
    }
    case 'conv2d':
    case 'conv_transpose2d':
    case 'conv_backward_input':
    case 'conv_backward_weight': {
      const c = n.geom;
      // Every (input position, output channel, tap) pair of a transposed convolution is one multiply-add, as every
      // (output position, input channel, tap) pair is for a convolution; the two backward products cost the same.
      const kind = 'kind' in n ? n.kind : n.op;
      const macs = kind === 'conv2d' ? c.batch * c.outChannels * c.outH * c.outW * c.inChannels * c.kernel * c.kernel : c.batch * c.inChannels * c.inH * c.inW * c.outChannels * c.kernel * c.kernel;
      return 2 * macs;
    }
    case 'activation':
      return e.activation * numel(g.shape(n.x));
    case 'activation_backward':
      return e.activationBackward * numel(g.shape(n.dy));
    case 'reparameterize':
      return e.reparameterize * numel(g.shape(n.z));
    case 'recon':
      return e.recon * numel(g.shape(n.logits));
    case 'kl':
      return e.kl * numel(g.shape(n.mu));
    case 'latent_backward':
      return e.latentBackward * numel(g.shape(n.mu));
    case 'matmul':
      return 2 * n.m * n.n * n.k;
    case 'sum_axes':
      return e.sum * n.outer * n.channels * n.inner;
  }
}

function label(n: Node): string {
  switch (n.op) {
    case 'dense':
    case 'conv2d':
    case 'conv_transpose2d':
      return `${n.layer} forward`;
    case 'conv_backward_input':
    case 'conv_backward_weight':
      return `${n.layer} ${n.op === 'conv_backward_input' ? 'dX' : 'dW'}`;
    case 'matmul':
    case 'sum_axes':
      return n.note;
    case 'activation':
    case 'activation_backward':
      return `${n.act} ${n.op === 'activation' ? 'forward' : 'backward'}`;
    default:
      return n.op;
  }
}

/**
 * The cost of each kernel of one training step of `g` (batch `batch`,
 * `paramCount` parameters updated by Adam; the batch gathered from the
 * dataset as bytes), in schedule order.
 */
export function stepCost(g: Graph, batch: number, paramCount: number, inputFloats: number): KernelCost[] {
  const bytesOf = (ts: number[]) => ts.reduce((a, t) => a + 4 * numel(g.shape(t)), 0);
  const out: KernelCost[] = [];
  const push = (c: Omit<KernelCost, 'intensity'>) => out.push({ ...c, intensity: c.flops / c.bytes });
  push({ label: 'batch gather (u8 -> f32)', op: 'gather', flops: ELEMENTWISE_FLOPS.gather * inputFloats, bytes: inputFloats * 5 + batch * 4 });
  for (const n of g.nodes) push({ label: label(n), op: n.op, flops: nodeFlops(g, n, batch), bytes: bytesOf([...new Set(nodeInputs(n))]) + bytesOf(nodeOutputs(n)) });
  // Adam reads parameters, gradients, m and v and writes parameters, m and v.
  push({ label: 'adam update', op: 'adam', flops: ELEMENTWISE_FLOPS.adam * paramCount, bytes: 7 * 4 * paramCount });
  return out;
}
