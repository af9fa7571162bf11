// matmul_subgroup: the 16×32 register-blocked matmul, loads of B shared through subgroup broadcasts.
// requires: matmul_subgroups_enable.wgsl, matmul_block.wgsl, block_share.wgsl
//
// C = act(op(A) · op(B) + bias), or C += op(A) · op(B). Shapes, blocking, loads
// and epilogue: matmul_block.wgsl.
// A workgroup of 4 invocations owns 64 rows (16 each) and one block of 32
// columns, so all invocations of a subgroup need the same eight Bk at each
// step of K: the invocation with subgroup_invocation_id s (mod 4) loads Bk s
// and s + 4, and every invocation takes the eight from lanes 0..3 by
// subgroupBroadcast (block_share.wgsl), a quarter of the loads of B. This needs subgroups of at
// least 4 invocations (WebGPU guarantees 4 to 128). No invocation leaves early
// (rows past M are clamped and never stored), so the broadcasts stay in
// uniform control flow.
// A workgroup is one SIMD group of SwiftShader (4 lanes); workgroups of 8 were
// measured slower there, and leave more rows idle when M is not a multiple of 128.
// Workgroup (x, y) starts at row row0 + 64·y. src/kernels/matmul.ts runs it on
// the whole groups of 64 rows and the last M mod 64 rows on matmul_blocked.wgsl
// (row0 there), so no invocation computes rows that do not exist.
// Dispatch: (ceil(N / 32), ceil((row_end − row0) / 64), 1).

// The block's product over k in [k_begin, k_end) (k_begin a multiple of 4).
fn subgroup_product(acc: ptr<function, MatmulBlock>, r0: u32, c0: u32, s: u32, k_begin: u32, k_end: u32) {
  for (var k0 = k_begin; k0 < k_end; k0 += 4u) {
    var ak: array<mat4x4<f32>, 4>;
    var bk: array<mat4x4<f32>, 8>;
    load_a_block(r0, k0, &ak);
    share_b(load_b(c0 + 4u * s, k0), load_b(c0 + 16u + 4u * s, k0), &bk);
    block_mma(acc, &ak, &bk);
  }
}

@compute @workgroup_size(4, 1, 1)
fn matmul_subgroup(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32,
                   @builtin(subgroup_invocation_id) lane: u32) {
  let r0 = params.row0 + (wg.y * 4u + li) * 16u;
  let c0 = wg.x * 32u;
  var acc: MatmulBlock;
  subgroup_product(&acc, r0, c0, lane % 4u, 0u, params.k);
  store_block(&acc, r0, c0, 0u);
}

// A product split over K (matmul_ksplit.wgsl): workgroup (x, y, z) computes
// the same block as matmul_subgroup over slice z of K and writes it, without
// bias or activation (the pipeline's ACT = 0, ACCUMULATE = false), into
// slice z of the partials (S, M, N) bound as C. Dispatch: (ceil(N / 32),
// ceil((row_end − row0) / 64), S).
@compute @workgroup_size(4, 1, 1)
fn matmul_subgroup_ksplit(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32,
                          @builtin(subgroup_invocation_id) lane: u32) {
  let r0 = params.row0 + (wg.y * 4u + li) * 16u;
  let c0 = wg.x * 32u;
  let k_begin = wg.z * params.k_chunk;
  var acc: MatmulBlock;
  subgroup_product(&acc, r0, c0, lane % 4u, k_begin, min(params.k, k_begin + params.k_chunk));
  store_block(&acc, r0, c0, wg.z * params.m * (params.n / 4u));
}
