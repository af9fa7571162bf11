/**
 * matmul: C = act(op(A)·op(B) + bias) on the caller's buffers, and its
 * backward products. Shapes and layouts: see shaders/matmul.wgsl.
 */
import { activationCode, DEFAULT_ALPHA, type Activation } from './activation-codes.ts';
import { checkBuffer, checkSizes, makeCall, placeholderBuffer, type BufferArg, type KernelCall } from './kernel.ts';

export interface MatmulOptions {
  /** Rows of op(A) and C. */
  readonly m: number;
  /** Columns of op(B) and C. */
  readonly n: number;
  /** Columns of op(A), rows of op(B). */
  readonly k: number;
  /** A is stored (K, M). */
  readonly transA?: boolean;
  /** B is stored (N, K). */
  readonly transB?: boolean;
  /** Epilogue activation (default identity). */
  readonly activation?: Activation;
  readonly alpha?: number;
  /** Add the product into C instead of overwriting it (no bias, no activation). */
  readonly accumulate?: boolean;
}

export interface MatmulBuffers {
  readonly a: BufferArg;
  readonly b: BufferArg;
  readonly c: BufferArg;
  readonly bias?: BufferArg;
}

const TILE = 64;

/** One matmul dispatch, bound to the given buffers. */
export function matmul(device: GPUDevice, bufs: MatmulBuffers, o: MatmulOptions): KernelCall {
  const op = `matmul(${o.m}x${o.k} · ${o.k}x${o.n})`;
  checkSizes('matmul', { m: o.m, n: o.n, k: o.k });
  checkBuffer(op, 'a', bufs.a, o.m * o.k);
  checkBuffer(op, 'b', bufs.b, o.k * o.n);
  checkBuffer(op, 'c', bufs.c, o.m * o.n);
  if (bufs.bias) checkBuffer(op, 'bias', bufs.bias, o.n);
  const act = o.activation ?? 'identity';
  if (o.accumulate && (bufs.bias || act !== 'identity')) {
    throw new Error(`${op}: accumulate adds the bare product into C; bias and activation must be off`);
  }
  return makeCall(device, {
    shader: 'matmul',
    entry: 'matmul',
    label: op,
    buffers: { a: bufs.a, b: bufs.b, c: bufs.c, bias: bufs.bias ?? placeholderBuffer(device) },
    constants: { TA: o.transA ? 1 : 0, TB: o.transB ? 1 : 0 },
    params: {
      m: o.m,
      n: o.n,
      k: o.k,
      has_bias: bufs.bias ? 1 : 0,
      act: activationCode(act),
      alpha: o.alpha ?? DEFAULT_ALPHA[act] ?? 0,
      accumulate: o.accumulate ? 1 : 0,
    },
    workgroups: [Math.ceil(o.n / TILE), Math.ceil(o.m / TILE), 1],
  });
}

export interface MatmulGradBuffers {
  readonly a: BufferArg;
  readonly b: BufferArg;
  /** dC: (M, N), the gradient of the bare product (after the activation's backward). */
  readonly dc: BufferArg;
  /** dA, in A's stored layout; omitted when not needed. */
  readonly da?: BufferArg;
  /** dB, in B's stored layout; omitted when not needed. */
  readonly db?: BufferArg;
}

/**
 * The backward products of C = op(A)·op(B): dA and dB in the stored layouts
 * of A and B, as matmuls with transposes (no copies). Bias and activation
 * gradients are separate kernels (reduce.wgsl, activations.wgsl).
 */
export function matmulBackward(
  device: GPUDevice,
  bufs: MatmulGradBuffers,
  o: MatmulOptions & { readonly accumulate?: boolean },
): KernelCall[] {
  const { m, n, k } = o;
  const ta = !!o.transA;
  const tb = !!o.transB;
  const acc = !!o.accumulate;
  const calls: KernelCall[] = [];
  if (bufs.da) {
    // d op(A) = dC · op(B)ᵀ  (M, K)
    calls.push(
      ta
        ? matmul(device, { a: bufs.b, b: bufs.dc, c: bufs.da }, { m: k, n: m, k: n, transA: tb, transB: true, accumulate: acc })
        : matmul(device, { a: bufs.dc, b: bufs.b, c: bufs.da }, { m, n: k, k: n, transB: !tb, accumulate: acc }),
    );
  }
  if (bufs.db) {
    // d op(B) = op(A)ᵀ · dC  (K, N)
    calls.push(
      tb
        ? matmul(device, { a: bufs.dc, b: bufs.a, c: bufs.db }, { m: n, n: k, k: m, transA: true, transB: ta, accumulate: acc })
        : matmul(device, { a: bufs.a, b: bufs.dc, c: bufs.db }, { m: k, n, k: m, transA: !ta, accumulate: acc }),
    );
  }
  return calls;
}
