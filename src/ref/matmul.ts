/** Float64 CPU reference of shaders/matmul.wgsl, forward and backward. */
import type { Activation } from '../kernels/activation-codes.ts';
import { actForward, actGrad } from './activation.ts';

export interface MatmulRefOptions {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly transA?: boolean;
  readonly transB?: boolean;
  readonly activation?: Activation;
  readonly alpha?: number;
}

type Arr = ArrayLike<number>;

/** The pre-activation product P = op(A)·op(B) + bias, (M, N). */
export function matmulPreRef(a: Arr, b: Arr, bias: Arr | null, o: MatmulRefOptions): Float64Array {
  const { m, n, k } = o;
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = bias ? bias[j]! : 0;
      for (let p = 0; p < k; p++) {
        const av = o.transA ? a[p * m + i]! : a[i * k + p]!;
        const bv = o.transB ? b[j * k + p]! : b[p * n + j]!;
        s += av * bv;
      }
      out[i * n + j] = s;
    }
  }
  return out;
}

/** C = act(op(A)·op(B) + bias). */
export function matmulRef(a: Arr, b: Arr, bias: Arr | null, o: MatmulRefOptions): Float64Array {
  const pre = matmulPreRef(a, b, bias, o);
  const act = o.activation ?? 'identity';
  return pre.map((v) => actForward(act, v, o.alpha));
}

/** Gradients of sum(C ⊙ dC) w.r.t. A, B (stored layouts) and bias. */
export function matmulBackwardRef(a: Arr, b: Arr, bias: Arr | null, dc: Arr, o: MatmulRefOptions) {
  const { m, n, k } = o;
  const act = o.activation ?? 'identity';
  const pre = matmulPreRef(a, b, bias, o);
  const dp = pre.map((v, i) => dc[i]! * actGrad(act, v, o.alpha));
  const da = new Float64Array(m * k);
  const db = new Float64Array(k * n);
  const dbias = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const g = dp[i * n + j]!;
      dbias[j] += g;
      for (let p = 0; p < k; p++) {
        const ai = o.transA ? p * m + i : i * k + p;
        const bi = o.transB ? j * k + p : p * n + j;
        da[ai] += g * b[bi]!;
        db[bi] += g * a[ai]!;
      }
    }
  }
  return { da, db, dbias };
}
