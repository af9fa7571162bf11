/** Float64 CPU reference of shaders/act_sum.wgsl: a fused activation's backward with the bias gradient. */
import type { Activation } from '../kernels/activation-codes.ts';
import { actGradFromOutput } from './activation.ts';
import { sumAxesRef } from './reduce.ts';

type Arr = ArrayLike<number>;

export interface ActivationBackwardSumRefOptions {
  readonly outer: number;
  readonly channels: number;
  readonly inner: number;
  readonly activation: Activation;
  readonly alpha?: number;
}

/** dpre = dy ⊙ f′(y) from the output y, and out[c] = Σ_{o,i} dpre[o, c, i]; dy, y: (outer, channels, inner) row-major. */
export function activationBackwardSumRef(dy: Arr, y: Arr, o: ActivationBackwardSumRefOptions): { dpre: Float64Array; out: Float64Array } {
  const n = o.outer * o.channels * o.inner;
  const dpre = new Float64Array(n);
  for (let j = 0; j < n; j++) dpre[j] = dy[j]! * actGradFromOutput(o.activation, y[j]!, o.alpha);
  return { dpre, out: sumAxesRef(dpre, o) };
}
