// matmul: C = act(op(A) · op(B) + bias), or C += op(A) · op(B) when accumulating.
// requires: activation_fns.wgsl, matmul_params.wgsl
//
// Shapes (row-major, f32):
//   op(A): (M, K)   stored (M, K), or (K, M) when the override TA is true
//   op(B): (K, N)   stored (K, N), or (N, K) when the override TB is true
//   bias:  (N)      added to every row when has_bias = 1
//   C:     (M, N)
// With nn.Linear's weight W (out, in): y = x·Wᵀ + b is TB = true; its
// backward is dx = dy·W (no transposes) and dW = dyᵀ·x (TA = true).
// The epilogue applies activation `act` (codes in activation_fns.wgsl).
// With accumulate = 1 the product is added to C and bias/act must be off
// (the caller zeroes or initializes C).
//
// matmul_direct (the variant `direct` of src/kernels/matmul.ts).
// Tiling: register blocking without workgroup memory. Each invocation
// computes an 8×8 block of C held in sixteen vec4 accumulators; a workgroup
// of 8×8 invocations covers a 64×64 tile. Per step of K an invocation loads
// 8 values of op(A) and 8 of op(B) and does 64 FMAs (arithmetic intensity of
// 4 FMA per load from cache); neighbouring invocations read neighbouring
// columns of B and share rows of A, so loads coalesce on GPUs, and there is
// no barrier, which software rasterizers (SwiftShader runs a workgroup's
// barriers as fiber switches) pay for dearly. The transposes are pipeline
// overrides, so the inner loop has no layout branches. Rows and columns past
// the edges are clamped on load and skipped on store: any M, N, K work.
// Dispatch: (ceil(N / 64), ceil(M / 64), 1).
//
// matmul_reg4x4: the same product with 4×4 blocks (four vec4 accumulators, 4
// loads of op(A) and 4 of op(B) for 16 FMAs per step of K, half the
// intensity of the 8×8 block); a workgroup of 16×16 invocations covers the
// same 64×64 tile, so the dispatch is the same. The textbook register-blocked
// kernel, kept as a reference point for the benchmark (variant `reg4x4`).

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

fn a_index(row: u32, kk: u32) -> u32 {
  if (TA) { return kk * params.m + row; }
  return row * params.k + kk;
}

fn b_index(kk: u32, col: u32) -> u32 {
  if (TB) { return col * params.k + kk; }
  return kk * params.n + col;
}

fn load_b4(kk: u32, cols: vec4u) -> vec4f {
  return vec4f(b[b_index(kk, cols.x)], b[b_index(kk, cols.y)], b[b_index(kk, cols.z)], b[b_index(kk, cols.w)]);
}

fn store(row: u32, col: u32, v: f32) {
  if (row >= params.m || col >= params.n) { return; }
  let idx = row * params.n + col;
  if (params.accumulate != 0u) {
    c[idx] = c[idx] + v;
    return;
  }
  var s = v;
  if (params.has_bias != 0u) { s += bias[col]; }
  c[idx] = act_forward(params.act, s, params.alpha);
}

fn store_row(row: u32, c0: u32, lo: vec4f, hi: vec4f) {
  for (var j = 0u; j < 4u; j++) {
    store(row, c0 + j, lo[j]);
    store(row, c0 + 4u + j, hi[j]);
  }
}

@compute @workgroup_size(8, 8, 1)
fn matmul_direct(@builtin(global_invocation_id) gid: vec3u) {
  let r0 = gid.y * 8u;
  let c0 = gid.x * 8u;
  if (r0 >= params.m || c0 >= params.n) { return; }
  let last_row = vec4u(params.m - 1u);
  let last_col = vec4u(params.n - 1u);
  let rlo = min(vec4u(r0) + vec4u(0u, 1u, 2u, 3u), last_row);
  let rhi = min(vec4u(r0) + vec4u(4u, 5u, 6u, 7u), last_row);
  let clo = min(vec4u(c0) + vec4u(0u, 1u, 2u, 3u), last_col);
  let chi = min(vec4u(c0) + vec4u(4u, 5u, 6u, 7u), last_col);
  // acc_i: row r0 + i, columns c0..c0+3; acd_i: columns c0+4..c0+7.
  var acc0 = vec4f(0.0); var acc1 = vec4f(0.0); var acc2 = vec4f(0.0); var acc3 = vec4f(0.0);
  var acc4 = vec4f(0.0); var acc5 = vec4f(0.0); var acc6 = vec4f(0.0); var acc7 = vec4f(0.0);
  var acd0 = vec4f(0.0); var acd1 = vec4f(0.0); var acd2 = vec4f(0.0); var acd3 = vec4f(0.0);
  var acd4 = vec4f(0.0); var acd5 = vec4f(0.0); var acd6 = vec4f(0.0); var acd7 = vec4f(0.0);
  for (var kk = 0u; kk < params.k; kk++) {
    let bl = load_b4(kk, clo);
    let bh = load_b4(kk, chi);
    let x0 = vec4f(a[a_index(rlo.x, kk)]);
    let x1 = vec4f(a[a_index(rlo.y, kk)]);
    let x2 = vec4f(a[a_index(rlo.z, kk)]);
    let x3 = vec4f(a[a_index(rlo.w, kk)]);
    let x4 = vec4f(a[a_index(rhi.x, kk)]);
    let x5 = vec4f(a[a_index(rhi.y, kk)]);
    let x6 = vec4f(a[a_index(rhi.z, kk)]);
    let x7 = vec4f(a[a_index(rhi.w, kk)]);
    acc0 += x0 * bl; acd0 += x0 * bh;
    acc1 += x1 * bl; acd1 += x1 * bh;
    acc2 += x2 * bl; acd2 += x2 * bh;
    acc3 += x3 * bl; acd3 += x3 * bh;
    acc4 += x4 * bl; acd4 += x4 * bh;
    acc5 += x5 * bl; acd5 += x5 * bh;
    acc6 += x6 * bl; acd6 += x6 * bh;
    acc7 += x7 * bl; acd7 += x7 * bh;
  }
  store_row(r0, c0, acc0, acd0);
  store_row(r0 + 1u, c0, acc1, acd1);
  store_row(r0 + 2u, c0, acc2, acd2);
  store_row(r0 + 3u, c0, acc3, acd3);
  store_row(r0 + 4u, c0, acc4, acd4);
  store_row(r0 + 5u, c0, acc5, acd5);
  store_row(r0 + 6u, c0, acc6, acd6);
  store_row(r0 + 7u, c0, acc7, acd7);
}

fn store_row4(row: u32, c0: u32, v: vec4f) {
  for (var j = 0u; j < 4u; j++) {
    store(row, c0 + j, v[j]);
  }
}

@compute @workgroup_size(16, 16, 1)
fn matmul_reg4x4(@builtin(global_invocation_id) gid: vec3u) {
  let r0 = gid.y * 4u;
  let c0 = gid.x * 4u;
  if (r0 >= params.m || c0 >= params.n) { return; }
  let rows = min(vec4u(r0) + vec4u(0u, 1u, 2u, 3u), vec4u(params.m - 1u));
  let cols = min(vec4u(c0) + vec4u(0u, 1u, 2u, 3u), vec4u(params.n - 1u));
  var acc0 = vec4f(0.0); var acc1 = vec4f(0.0); var acc2 = vec4f(0.0); var acc3 = vec4f(0.0);
  for (var kk = 0u; kk < params.k; kk++) {
    let bv = load_b4(kk, cols);
    acc0 += vec4f(a[a_index(rows.x, kk)]) * bv;
    acc1 += vec4f(a[a_index(rows.y, kk)]) * bv;
    acc2 += vec4f(a[a_index(rows.z, kk)]) * bv;
    acc3 += vec4f(a[a_index(rows.w, kk)]) * bv;
  }
  store_row4(r0, c0, acc0);
  store_row4(r0 + 1u, c0, acc1);
  store_row4(r0 + 2u, c0, acc2);
  store_row4(r0 + 3u, c0, acc3);
}
