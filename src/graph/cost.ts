/**
 * The cost of a training step on paper: floating-point operations and the
 * bytes each kernel must move (every tensor it reads once, every tensor it
 * writes once: the compulsory traffic, what a kernel that keeps its tiles in
 * registers or workgroup memory approaches, unless its op says otherwise),
 * and their ratio, the arithmetic intensity. Each op module gives its FLOPs
 * (products count 2 per multiply-add; elementwise kernels a few per element).
 */
import { nodeInputs, nodeOutputs, numel, type Graph } from './ir.ts';
import { opOf } from './ops/index.ts';

/** Operations per element of the batch gather (u8 → f32). */
const GATHER_FLOPS = 1;

export interface KernelCost {
  readonly label: string;
  /** The node's op, or 'gather' for the data feed. */
  readonly op: string;
  readonly flops: number;
  readonly bytes: number;
  /** flops / bytes. */
  readonly intensity: number;
}

/**
 * The cost of each kernel of one training step of `g` (its nodes, the
 * update included when the graph has one), after the batch gathered from the
 * dataset as bytes (`inputFloats` values for `batch` samples), in schedule order.
 */
export function stepCost(g: Graph, batch: number, inputFloats: number): KernelCost[] {
  const bytesOf = (ts: number[]) => ts.reduce((a, t) => a + 4 * numel(g.shape(t)), 0);
  const out: KernelCost[] = [];
  const push = (c: Omit<KernelCost, 'intensity'>) => out.push({ ...c, intensity: c.flops / c.bytes });
  push({ label: 'batch gather (u8 -> f32)', op: 'gather', flops: GATHER_FLOPS * inputFloats, bytes: inputFloats * 5 + batch * 4 });
  for (const n of g.nodes) {
    const c = opOf(n.op).cost(g, n);
    push({ label: n.label, op: n.op, flops: c.flops, bytes: c.bytes ?? bytesOf([...new Set(nodeInputs(n))]) + bytesOf(nodeOutputs(n)) });
  }
  return out;
}
