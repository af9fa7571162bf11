// The interface shared by every matmul kernel (matmul.wgsl, matmul_tiled.wgsl,
// matmul_naive.wgsl, matmul_block.wgsl): the uniform, the bias binding and the
// layout overrides. Each kernel declares its own A, B and C bindings (binding
// 0, 1 and 3: `a`, `b`, `c` as f32, or `a4`, `b4`, `c4` as vec4).
//
//   m, n, k     C is (M, N), op(A) is (M, K), op(B) is (K, N)
//   has_bias    1: add bias (N) to every row of C
//   act, alpha  activation of the epilogue (codes in activation_fns.wgsl)
//   accumulate  1: C += op(A)·op(B) (bias and activation off)
//   TA, TB      A stored (K, M) / B stored (N, K) instead of (M, K) / (K, N)
//   row0, row_end  the rows of C this dispatch computes, [row0, row_end)
//               (read by the register-blocked kernels, matmul_block.wgsl;
//               the others take 0 and M)
//   k_chunk     a product split over K (matmul_ksplit.wgsl): the values of k
//               slice z of the partial products adds, [z·k_chunk, min(K, (z+1)·k_chunk));
//               K otherwise (read only by the split kernels)

struct Params {
  m: u32,
  n: u32,
  k: u32,
  has_bias: u32,
  act: u32,
  alpha: f32,
  accumulate: u32,
  row0: u32,
  row_end: u32,
  k_chunk: u32,
}

@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

override TA: bool = false;
override TB: bool = false;
