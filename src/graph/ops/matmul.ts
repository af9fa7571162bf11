/**
 * `matmul`: C = op(A)·op(B), or C += op(A)·op(B), the products of the
 * backward passes (dW = dYᵀ·X, dX = dY·W and their convolution-free kin).
 * The forward of a dense layer is its own node (ops/dense.ts), with the bias
 * and activation fused.
 */
import { matmulCalls, type MatmulShape } from '../../kernels/matmul.ts';
import { matmulPreRef } from '../../ref/matmul.ts';
import type { NodeInit, OpDef } from '../op.ts';

export interface MatmulAttrs extends MatmulShape {
  readonly transA: boolean;
  readonly transB: boolean;
}

export const matmulOp: OpDef<MatmulAttrs> = {
  name: 'matmul',
  compile(c, n) {
    const { m, n: cols, k, transA, transB } = n.attrs;
    const calls = matmulCalls(c.device, { a: c.at(n.ins.a!), b: c.at(n.ins.b!), c: c.at(n.outs.c!) }, { m, n: cols, k, transA, transB, accumulate: n.accumulate });
    return calls.map((call) => ({ call }));
  },
  cost: (_g, n) => ({ flops: 2 * n.attrs.m * n.attrs.n * n.attrs.k }),
  matmul: (_g, n) => n.attrs,
  reference(r, n) {
    r.write(n, 'c', matmulPreRef(r.get(n.ins.a!), r.get(n.ins.b!), null, n.attrs));
  },
};

/** A product node: c (+)= op(a)·op(b). */
export function matmulNode(a: number, b: number, c: number, attrs: MatmulAttrs, label: string, accumulate = false): NodeInit<MatmulAttrs> {
  return { op: matmulOp, ins: { a, b }, outs: { c }, attrs, label, accumulate };
}
