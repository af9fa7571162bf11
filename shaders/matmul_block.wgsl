// Register-blocked matmul shared by matmul_blocked.wgsl and matmul_subgroup.wgsl:
// C = act(op(A) · op(B) + bias), or C += op(A) · op(B) when accumulating.
// requires: activation_fns.wgsl, matmul_params.wgsl
//
// Shapes, the overrides TA / TB, the uniform fields and the epilogue are those of
// matmul.wgsl. A and B are read as vec4 (bindings a4, b4), so the contiguous
// dimension of each stored matrix must be a multiple of 4: K for A, M for Aᵀ,
// N for B, K for Bᵀ (src/kernels/matmul.ts checks it and uses matmul.wgsl for
// other shapes).
//
// Each invocation owns a 16×32 block of C held in 32 matrices of 4×4:
// MatmulBlock.m[i * 8 + j] has rows 4i..4i+3 of the block as its columns and
// columns 4j..4j+3 as vector components. K advances four at a time with
// m[i * 8 + j] += Bk[j] · Ak[i], where column r of Ak[i] is op(A)(4i + r, k..k+3)
// and column q of Bk[j] is op(B)(k + q, 4j..4j+3): 2048 multiply-adds per 12
// matrices (48 vec4) loaded. The accumulators are only ever indexed by
// constants, so they stay in registers; there is no workgroup memory and no
// barrier. This suits adapters that run a workgroup on a CPU thread
// (SwiftShader: 4 lanes per SIMD group, every load a per-lane gather, barriers
// as fiber switches); on GPUs 512 accumulators per invocation are too many.
// Row and column indices are clamped into the matrices on load (results past M
// and N are computed from real data and never stored); k past K reads zero
// (only the layout Aᵀ·B leaves K free; the selects fold away for the others).
// SwiftShader runs both sides of every branch, uniform or not, so the layout is
// chosen by overrides and each activation of the epilogue has its own loop
// (a loop that runs zero times costs one masked pass, not the whole body).

@group(0) @binding(0) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b4: array<vec4<f32>>;

struct MatmulBlock {
  m: array<mat4x4<f32>, 32>,
}

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

// block += Bk · Ak over the 4 × 8 sub-blocks.
fn block_mma(acc: ptr<function, MatmulBlock>, ak: ptr<function, array<mat4x4<f32>, 4>>,
             bk: ptr<function, array<mat4x4<f32>, 8>>) {
  (*acc).m[0] += (*bk)[0] * (*ak)[0];
  (*acc).m[1] += (*bk)[1] * (*ak)[0];
  (*acc).m[2] += (*bk)[2] * (*ak)[0];
  (*acc).m[3] += (*bk)[3] * (*ak)[0];
  (*acc).m[4] += (*bk)[4] * (*ak)[0];
  (*acc).m[5] += (*bk)[5] * (*ak)[0];
  (*acc).m[6] += (*bk)[6] * (*ak)[0];
  (*acc).m[7] += (*bk)[7] * (*ak)[0];
  (*acc).m[8] += (*bk)[0] * (*ak)[1];
  (*acc).m[9] += (*bk)[1] * (*ak)[1];
  (*acc).m[10] += (*bk)[2] * (*ak)[1];
  (*acc).m[11] += (*bk)[3] * (*ak)[1];
  (*acc).m[12] += (*bk)[4] * (*ak)[1];
  (*acc).m[13] += (*bk)[5] * (*ak)[1];
  (*acc).m[14] += (*bk)[6] * (*ak)[1];
  (*acc).m[15] += (*bk)[7] * (*ak)[1];
  (*acc).m[16] += (*bk)[0] * (*ak)[2];
  (*acc).m[17] += (*bk)[1] * (*ak)[2];
  (*acc).m[18] += (*bk)[2] * (*ak)[2];
  (*acc).m[19] += (*bk)[3] * (*ak)[2];
  (*acc).m[20] += (*bk)[4] * (*ak)[2];
  (*acc).m[21] += (*bk)[5] * (*ak)[2];
  (*acc).m[22] += (*bk)[6] * (*ak)[2];
  (*acc).m[23] += (*bk)[7] * (*ak)[2];
  (*acc).m[24] += (*bk)[0] * (*ak)[3];
  (*acc).m[25] += (*bk)[1] * (*ak)[3];
  (*acc).m[26] += (*bk)[2] * (*ak)[3];
  (*acc).m[27] += (*bk)[3] * (*ak)[3];
  (*acc).m[28] += (*bk)[4] * (*ak)[3];
  (*acc).m[29] += (*bk)[5] * (*ak)[3];
  (*acc).m[30] += (*bk)[6] * (*ak)[3];
  (*acc).m[31] += (*bk)[7] * (*ak)[3];
}

// C(row, col) = x (+ bias, or + C when accumulating), when (row, col) is inside C.
fn store_el(row: u32, col: u32, x: f32) {
  if (row < params.m && col < params.n) {
    let idx = row * params.n + col;
    var v = x;
    if (params.accumulate != 0u) { v += c[idx]; }
    if (params.has_bias != 0u) { v += bias[col]; }
    c[idx] = v;
  }
}

// Applies activation `code` (a constant at each call) to the block's entries of C
// when params.act == code; the loop runs zero times otherwise.
fn act_block(code: u32, r0: u32, c0: u32) {
  let count = select(0u, 512u, params.act == code);
  for (var e = 0u; e < count; e++) {
    let row = r0 + e / 32u;
    let col = c0 + e % 32u;
    if (row < params.m && col < params.n) {
      let idx = row * params.n + col;
      c[idx] = act_forward(code, c[idx], params.alpha);
    }
  }
}

// Writes the 16×32 block at (r0, c0) through the epilogue. The block is copied
// once into an array indexed at run time, so that the accumulators themselves
// are only ever indexed by constants.
fn store_block(acc: ptr<function, MatmulBlock>, r0: u32, c0: u32) {
  var out = (*acc).m;
  var e = 0u;
  loop {
    let i = e / 8u;
    let j = e % 8u;
    let v = out[(i / 4u) * 8u + j][i % 4u];
    let col = c0 + 4u * j;
    store_el(r0 + i, col, v.x);
    store_el(r0 + i, col + 1u, v.y);
    store_el(r0 + i, col + 2u, v.z);
    store_el(r0 + i, col + 3u, v.w);
    continuing {
      e += 1u;
      break if e >= 128u;
    }
  }
  act_block(1u, r0, c0);
  act_block(2u, r0, c0);
  act_block(3u, r0, c0);
  act_block(4u, r0, c0);
  act_block(5u, r0, c0);
  act_block(6u, r0, c0);
  act_block(7u, r0, c0);
  act_block(8u, r0, c0);
}
