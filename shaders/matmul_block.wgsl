// Register-blocked matmul shared by matmul_blocked.wgsl and matmul_subgroup.wgsl:
// C = act(op(A) · op(B) + bias), or C += op(A) · op(B) when accumulating.
// requires: epilogue.wgsl, matmul_params.wgsl, block_mma.wgsl
//
// Shapes, the overrides TA / TB, the uniform fields and the epilogue are those of
// matmul.wgsl. A, B and C are accessed as vec4 (bindings a4, b4, c4), so the
// contiguous dimension of each stored matrix must be a multiple of 4: K for A,
// M for Aᵀ, N for B, K for Bᵀ, and N for C (src/kernels/matmul.ts checks it and
// uses matmul.wgsl for other shapes). The epilogue stores whole vec4 of C.
//
// Each invocation owns a 16×32 block of C held in 32 matrices of 4×4:
// MatmulBlock.m[i * 8 + j] has rows 4i..4i+3 of the block as its columns and
// columns 4j..4j+3 as vector components. K advances four at a time with
// m[i * 8 + j] += Bk[j] · Ak[i] (block_mma.wgsl), where column r of Ak[i] is op(A)(4i + r, k..k+3)
// and column q of Bk[j] is op(B)(k + q, 4j..4j+3): 2048 multiply-adds per 12
// matrices (48 vec4) loaded. The accumulators are only ever indexed by
// constants, so they stay in registers; there is no workgroup memory and no
// barrier. This suits adapters that run a workgroup on a CPU thread
// (SwiftShader: 4 lanes per SIMD group, every load a per-lane gather, barriers
// as fiber switches); on GPUs 512 accumulators per invocation are too many.
// Row and column indices are clamped into the matrices on load (results past M
// and N are computed from real data and never stored); k past K reads zero
// (only the layout Aᵀ·B leaves K free; the selects fold away for the others).
// SwiftShader runs both sides of every branch, uniform or not, so the layout
// and the epilogue are chosen by overrides (TA, TB, ACT, ACCUMULATE), fixed
// when the pipeline is made and folded away by the compiler: a product with no
// accumulate reads no C, and the activation is applied as C is stored.

@group(0) @binding(0) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> c4: array<vec4<f32>>;

// Ak for rows r0..r0+3 (r0 % 4 == 0) and k0..k0+3: column r = op(A)(r0 + r, k0..k0+3).
fn load_a(r0: u32, k0: u32) -> mat4x4<f32> {
  if (TA) {
    // Aᵀ stored (K, M): one vec4 of four rows per k, transposed.
    let mq = params.m / 4u;
    let rq = min(r0, params.m - 4u) / 4u;
    let last = params.k - 1u;
    let z = vec4<f32>();
    return transpose(mat4x4<f32>(
      select(z, a4[min(k0, last) * mq + rq], TB || k0 < params.k),
      select(z, a4[min(k0 + 1u, last) * mq + rq], TB || k0 + 1u < params.k),
      select(z, a4[min(k0 + 2u, last) * mq + rq], TB || k0 + 2u < params.k),
      select(z, a4[min(k0 + 3u, last) * mq + rq], TB || k0 + 3u < params.k)));
  }
  // A stored (M, K): one vec4 of four k per row.
  let kq = params.k / 4u;
  let q = k0 / 4u;
  let last = params.m - 1u;
  return mat4x4<f32>(a4[min(r0, last) * kq + q], a4[min(r0 + 1u, last) * kq + q],
                     a4[min(r0 + 2u, last) * kq + q], a4[min(r0 + 3u, last) * kq + q]);
}

// Bk for k0..k0+3 and columns c0..c0+3 (c0 % 4 == 0): column q = op(B)(k0 + q, c0..c0+3).
fn load_b(c0: u32, k0: u32) -> mat4x4<f32> {
  if (TB) {
    // Bᵀ stored (N, K): one vec4 of four k per column, transposed.
    let kq = params.k / 4u;
    let q = k0 / 4u;
    let last = params.n - 1u;
    return transpose(mat4x4<f32>(b4[min(c0, last) * kq + q], b4[min(c0 + 1u, last) * kq + q],
                                 b4[min(c0 + 2u, last) * kq + q], b4[min(c0 + 3u, last) * kq + q]));
  }
  // B stored (K, N): one vec4 of four columns per k.
  let nq = params.n / 4u;
  let cq = min(c0, params.n - 4u) / 4u;
  let last = params.k - 1u;
  let z = vec4<f32>();
  return mat4x4<f32>(
    select(z, b4[min(k0, last) * nq + cq], !TA || k0 < params.k),
    select(z, b4[min(k0 + 1u, last) * nq + cq], !TA || k0 + 1u < params.k),
    select(z, b4[min(k0 + 2u, last) * nq + cq], !TA || k0 + 2u < params.k),
    select(z, b4[min(k0 + 3u, last) * nq + cq], !TA || k0 + 3u < params.k));
}

// The four Ak of the block's 16 rows.
fn load_a_block(r0: u32, k0: u32, ak: ptr<function, array<mat4x4<f32>, 4>>) {
  (*ak)[0] = load_a(r0, k0);
  (*ak)[1] = load_a(r0 + 4u, k0);
  (*ak)[2] = load_a(r0 + 8u, k0);
  (*ak)[3] = load_a(r0 + 12u, k0);
}

// Row `row`, columns 4q..4q+3 of C, v, through the epilogue: + bias, or + C
// when accumulating, then the activation. Rows at or past row_end (M, or the
// end of this dispatch's rows) and column groups past N / 4 are not stored.
// C starts at vec4 `base` of c4 (0, or the slice of a product split over K:
// matmul_ksplit.wgsl).
fn store_row(v0: vec4<f32>, row: u32, q: u32, bq: vec4<f32>, base: u32, nq: u32) {
  if (row < params.row_end && q < nq) {
    let idx = base + row * nq + q;
    var v = v0 + bq;
    if (ACCUMULATE) { v += c4[idx]; }
    c4[idx] = act_epilogue4(v, params.alpha);
  }
}

// The 4×4 tile m of C (column r: row row0 + r, columns 4q..4q+3), a row at a
// time with no loop: on SwiftShader a loop trip costs about as much as a
// store (Aᵀ·B 784×128·128×400, whose stores are a large share with K = 128:
// 0.97× the looped epilogue's time).
fn store_tile(m: mat4x4<f32>, row0: u32, q: u32, bq: vec4<f32>, base: u32) {
  let nq = params.n / 4u;
  if (ACT > 1u) {
    // Activations other than ReLU cost compile time per copy of store_row
    // (on SwiftShader, 2.3 → 6.6 s for GELU written out): a loop for them.
    for (var r = 0u; r < 4u; r++) { store_row(m[r], row0 + r, q, bq, base, nq); }
  } else {
    store_row(m[0], row0, q, bq, base, nq);
    store_row(m[1], row0 + 1u, q, bq, base, nq);
    store_row(m[2], row0 + 2u, q, bq, base, nq);
    store_row(m[3], row0 + 3u, q, bq, base, nq);
  }
}

// The bias of columns 4q..4q+3 (zero without bias).
fn bias_quad(q: u32) -> vec4<f32> {
  let c = 4u * q;
  return select(vec4<f32>(), vec4<f32>(bias[c], bias[c + 1u], bias[c + 2u], bias[c + 3u]), params.has_bias != 0u);
}

// Writes the 16×32 block at (r0, c0) of the C at vec4 `base` through the
// epilogue as 128 vec4 stores. Every accumulator is named by a constant, so
// they stay in registers.
fn store_block(acc: ptr<function, MatmulBlock>, r0: u32, c0: u32, base: u32) {
  let q0 = c0 / 4u;
  var bq: array<vec4<f32>, 8>;
  for (var j = 0u; j < 8u; j++) {
    bq[j] = bias_quad(min(q0 + j, params.n / 4u - 1u));
  }
  store_tile((*acc).m[0], r0 + 0u, q0 + 0u, bq[0], base);
  store_tile((*acc).m[1], r0 + 0u, q0 + 1u, bq[1], base);
  store_tile((*acc).m[2], r0 + 0u, q0 + 2u, bq[2], base);
  store_tile((*acc).m[3], r0 + 0u, q0 + 3u, bq[3], base);
  store_tile((*acc).m[4], r0 + 0u, q0 + 4u, bq[4], base);
  store_tile((*acc).m[5], r0 + 0u, q0 + 5u, bq[5], base);
  store_tile((*acc).m[6], r0 + 0u, q0 + 6u, bq[6], base);
  store_tile((*acc).m[7], r0 + 0u, q0 + 7u, bq[7], base);
  store_tile((*acc).m[8], r0 + 4u, q0 + 0u, bq[0], base);
  store_tile((*acc).m[9], r0 + 4u, q0 + 1u, bq[1], base);
  store_tile((*acc).m[10], r0 + 4u, q0 + 2u, bq[2], base);
  store_tile((*acc).m[11], r0 + 4u, q0 + 3u, bq[3], base);
  store_tile((*acc).m[12], r0 + 4u, q0 + 4u, bq[4], base);
  store_tile((*acc).m[13], r0 + 4u, q0 + 5u, bq[5], base);
  store_tile((*acc).m[14], r0 + 4u, q0 + 6u, bq[6], base);
  store_tile((*acc).m[15], r0 + 4u, q0 + 7u, bq[7], base);
  store_tile((*acc).m[16], r0 + 8u, q0 + 0u, bq[0], base);
  store_tile((*acc).m[17], r0 + 8u, q0 + 1u, bq[1], base);
  store_tile((*acc).m[18], r0 + 8u, q0 + 2u, bq[2], base);
  store_tile((*acc).m[19], r0 + 8u, q0 + 3u, bq[3], base);
  store_tile((*acc).m[20], r0 + 8u, q0 + 4u, bq[4], base);
  store_tile((*acc).m[21], r0 + 8u, q0 + 5u, bq[5], base);
  store_tile((*acc).m[22], r0 + 8u, q0 + 6u, bq[6], base);
  store_tile((*acc).m[23], r0 + 8u, q0 + 7u, bq[7], base);
  store_tile((*acc).m[24], r0 + 12u, q0 + 0u, bq[0], base);
  store_tile((*acc).m[25], r0 + 12u, q0 + 1u, bq[1], base);
  store_tile((*acc).m[26], r0 + 12u, q0 + 2u, bq[2], base);
  store_tile((*acc).m[27], r0 + 12u, q0 + 3u, bq[3], base);
  store_tile((*acc).m[28], r0 + 12u, q0 + 4u, bq[4], base);
  store_tile((*acc).m[29], r0 + 12u, q0 + 5u, bq[5], base);
  store_tile((*acc).m[30], r0 + 12u, q0 + 6u, bq[6], base);
  store_tile((*acc).m[31], r0 + 12u, q0 + 7u, bq[7], base);
}
