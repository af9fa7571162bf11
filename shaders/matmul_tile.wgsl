// matmul_tile: the register-blocked matmul one 4×4 tile at a time, for quick compilation.
// requires: matmul_block.wgsl
//
// C = act(op(A) · op(B) + bias), or C += op(A) · op(B). Shapes, loads and
// epilogue: matmul_block.wgsl, whose functions this kernel calls.
// Each invocation owns one 4×4 tile of C (rows 4t..4t+3, columns 4q..4q+3)
// and adds Bk · Ak over K four at a time, with the same loads, the same
// matrix product and the same epilogue as one of the 32 tiles of a 16×32
// block in matmul_blocked.wgsl and matmul_subgroup.wgsl: its results are
// bit-identical to theirs. It holds 16 accumulators instead of 512 and loads
// eight vec4 per 64 multiply-adds instead of 48 per 2048, so it runs slower,
// but a CPU adapter compiles it in a fraction of the time (on SwiftShader
// about 0.1 s of CPU against 2-4 s for a block kernel): it stands in for them
// while they compile (the standIn of makeCall in src/gpu/dispatch.ts).
// The epilogue's overrides (ACT, ACCUMULATE) are those of the kernel it stands in for.
// Invocation g (linear over the dispatch) owns the 4 rows from row0 + 4·(g / nq)
// and column group g % nq, nq = N / 4; invocations past row_end return.
// Dispatch: grid1d(ceil((row_end − row0) / 4) · (N / 4), 64).

// The tile of invocation g: rows r0..r0+3 (r0 past M: none), column group q.
fn tile_of(wg: vec3u, nwg: vec3u, li: u32) -> vec2u {
  let g = (wg.x + wg.y * nwg.x) * 64u + li;
  let nq = params.n / 4u;
  return vec2u(params.row0 + (g / nq) * 4u, g % nq);
}

// op(A) · op(B) over the tile and k in [k_begin, k_end), through store_tile's
// epilogue (bias, accumulate, activation) into the C at vec4 `base`.
fn tile_product(r0: u32, q: u32, k_begin: u32, k_end: u32, base: u32) {
  var acc = mat4x4<f32>();
  for (var k0 = k_begin; k0 < k_end; k0 += 4u) {
    let ak = load_a(r0, k0);
    let bk = load_b(4u * q, k0);
    acc += bk * ak;
  }
  store_tile(acc, r0, q, bias_quad(q), base);
}

@compute @workgroup_size(64, 1, 1)
fn matmul_tile(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
               @builtin(local_invocation_index) li: u32) {
  let t = tile_of(wg, nwg, li);
  if (t.x >= params.row_end) { return; }
  tile_product(t.x, t.y, 0u, params.k, 0u);
}

// The stand-in of matmul_subgroup_ksplit: slice z = wg.z of K into slice z of
// the partials, bit for bit. Dispatch: matmul_tile's, with S workgroups along z.
@compute @workgroup_size(64, 1, 1)
fn matmul_tile_ksplit(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                      @builtin(local_invocation_index) li: u32) {
  let t = tile_of(wg, nwg, li);
  if (t.x >= params.row_end) { return; }
  let k_begin = wg.z * params.k_chunk;
  tile_product(t.x, t.y, k_begin, min(params.k, k_begin + params.k_chunk), wg.z * params.m * (params.n / 4u));
}
