// matmul_blocked: C = act(op(A) · op(B) + bias), or C += op(A) · op(B), in 16×32 register blocks.
// requires: matmul_block.wgsl
//
// Shapes, blocking, loads and epilogue: matmul_block.wgsl.
// Invocation g (linear over the dispatch) owns the 16 rows from
// row0 + 16·(g / nb) and block column g % nb, nb = ceil(N / 32): neighbouring
// invocations share rows of A and read neighbouring columns of B. Invocations
// past row_end return. Dispatch: grid1d(ceil((row_end − row0) / 16) ·
// ceil(N / 32), 16); the linear workgroup index is wg.x + wg.y · num_workgroups.x.
// src/kernels/matmul.ts also runs it on the last rows of a matmul_subgroup
// product (those past its last whole group of 64).

// The block of invocation g (linear over the dispatch): first row, first column.
fn block_of(wg: vec3u, nwg: vec3u, li: u32) -> vec2u {
  let g = (wg.x + wg.y * nwg.x) * 16u + li;
  let nb = (params.n + 31u) / 32u;
  return vec2u(params.row0 + (g / nb) * 16u, (g % nb) * 32u);
}

// The block's product over k in [k_begin, k_end) (k_begin a multiple of 4).
fn blocked_product(acc: ptr<function, MatmulBlock>, r0: u32, c0: u32, k_begin: u32, k_end: u32) {
  for (var k0 = k_begin; k0 < k_end; k0 += 4u) {
    var ak: array<mat4x4<f32>, 4>;
    var bk: array<mat4x4<f32>, 8>;
    load_a_block(r0, k0, &ak);
    bk[0] = load_b(c0, k0);
    bk[1] = load_b(c0 + 4u, k0);
    bk[2] = load_b(c0 + 8u, k0);
    bk[3] = load_b(c0 + 12u, k0);
    bk[4] = load_b(c0 + 16u, k0);
    bk[5] = load_b(c0 + 20u, k0);
    bk[6] = load_b(c0 + 24u, k0);
    bk[7] = load_b(c0 + 28u, k0);
    block_mma(acc, &ak, &bk);
  }
}

@compute @workgroup_size(16, 1, 1)
fn matmul_blocked(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) li: u32) {
  let b = block_of(wg, nwg, li);
  let r0 = b.x;
  let c0 = b.y;
  if (r0 >= params.row_end) { return; }
  var acc: MatmulBlock;
  blocked_product(&acc, r0, c0, 0u, params.k);
  store_block(&acc, r0, c0, 0u);
}

// A product split over K (matmul_ksplit.wgsl): workgroup (x, y, z) computes
// the blocks of matmul_blocked's workgroup (x, y) over slice z of K and writes
// them, without bias or activation (ACT = 0, ACCUMULATE = false), into slice z
// of the partials (S, M, N) bound as C. Dispatch: matmul_blocked's, with S
// workgroups along z.
@compute @workgroup_size(16, 1, 1)
fn matmul_blocked_ksplit(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                         @builtin(local_invocation_index) li: u32) {
  let b = block_of(wg, nwg, li);
  let r0 = b.x;
  let c0 = b.y;
  if (r0 >= params.row_end) { return; }
  let k_begin = wg.z * params.k_chunk;
  var acc: MatmulBlock;
  blocked_product(&acc, r0, c0, k_begin, min(params.k, k_begin + params.k_chunk));
  store_block(&acc, r0, c0, wg.z * params.m * (params.n / 4u));
}
