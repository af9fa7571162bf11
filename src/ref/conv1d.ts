/**
 * Float64 CPU reference of conv1d (PyTorch nn.Conv1d semantics, with the
 * causal left-only padding), forward and backward, written straight from
 * the definition over (N, C, L): independent of the GPU side, which runs it
 * as a conv2d over (N, C, 1, L).
 */
import { conv1dGeometry, type Conv1dOptions } from '../kernels/conv-geometry.ts';
import { actForward, actGrad } from './activation.ts';

type Arr = ArrayLike<number>;

/**
 * Visits every (output, input, weight) index triple of a conv1d: y[yi]
 * gathers x[xi]·w[wi], input position i = t·stride − padLeft + k·dilation,
 * skipped outside [0, L).
 */
function conv1dTaps(o: Conv1dOptions, visit: (yi: number, xi: number, wi: number) => void): void {
  const g = conv1dGeometry(o);
  for (let n = 0; n < g.n; n++) {
    for (let co = 0; co < g.cout; co++) {
      for (let t = 0; t < g.outLength; t++) {
        const yi = (n * g.cout + co) * g.outLength + t;
        for (let ci = 0; ci < g.cin; ci++) {
          for (let k = 0; k < g.kernel; k++) {
            const i = t * g.stride - g.padLeft + k * g.dilation;
            if (i < 0 || i >= g.length) continue;
            visit(yi, (n * g.cin + ci) * g.length + i, (co * g.cin + ci) * g.kernel + k);
          }
        }
      }
    }
  }
}

/** conv1d's pre-activation output conv(x, w) + bias, (N, C_out, L_out). */
export function conv1dPreRef(x: Arr, w: Arr, bias: Arr | null, o: Conv1dOptions): Float64Array {
  const g = conv1dGeometry(o);
  const y = new Float64Array(g.n * g.cout * g.outLength);
  if (bias) for (let i = 0; i < y.length; i++) y[i] = bias[Math.floor(i / g.outLength) % g.cout]!;
  conv1dTaps(o, (yi, xi, wi) => {
    y[yi] += x[xi]! * w[wi]!;
  });
  return y;
}

/** y = act(conv1d(x, w) + bias). x (N, C_in, L), w (C_out, C_in, K), bias (C_out). */
export function conv1dRef(x: Arr, w: Arr, bias: Arr | null, o: Conv1dOptions): Float64Array {
  const act = o.activation ?? 'identity';
  return conv1dPreRef(x, w, bias, o).map((v) => actForward(act, v, o.alpha));
}

/** Gradients of sum(y ⊙ dy) for y = conv1dRef(x, w, bias, o), activation included. */
export function conv1dBackwardRef(x: Arr, w: Arr, bias: Arr | null, dy: Arr, o: Conv1dOptions): { dx: Float64Array; dweight: Float64Array; dbias: Float64Array } {
  const g = conv1dGeometry(o);
  const act = o.activation ?? 'identity';
  const dpre = conv1dPreRef(x, w, bias, o).map((v, i) => dy[i]! * actGrad(act, v, o.alpha));
  const dx = new Float64Array(g.n * g.cin * g.length);
  const dweight = new Float64Array(g.cout * g.cin * g.kernel);
  const dbias = new Float64Array(g.cout);
  for (let i = 0; i < dpre.length; i++) dbias[Math.floor(i / g.outLength) % g.cout] += dpre[i]!;
  conv1dTaps(o, (yi, xi, wi) => {
    dx[xi] += dpre[yi]! * w[wi]!;
    dweight[wi] += dpre[yi]! * x[xi]!;
  });
  return { dx, dweight, dbias };
}
