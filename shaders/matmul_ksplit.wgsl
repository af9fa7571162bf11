// matmul_ksplit: the sum that ends a product split over K, C = act(Σ_z P_z + bias) or C += Σ_z P_z.
// requires: epilogue.wgsl, matmul_params.wgsl
//
// A product with few blocks of C and a long K (src/kernels/matmul.ts,
// matmulCalls) runs as S slices of K in parallel: matmul_subgroup_ksplit or
// matmul_blocked_ksplit (or their stand-in matmul_tile_ksplit) writes slice z's product over k in
// [z·k_chunk, min(K, (z+1)·k_chunk)) into P_z, the z-th (M, N) block of a
// partials buffer (S, M, N), S = ceil(K / k_chunk). This kernel adds the S
// blocks in order z = 0, 1, … and applies the epilogue of matmul_block.wgsl
// (bias, or + C when accumulating, then the activation; ACT and ACCUMULATE
// fixed by overrides when the pipeline is made).
// Shapes: P and C as vec4, so N must be a multiple of 4 (as for the kernels
// that write P). One invocation per vec4 of C, workgroups of 64; dispatch
// grid1d(M · N / 4, 64).

@group(0) @binding(0) var<storage, read> partials4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> c4: array<vec4<f32>>;

@compute @workgroup_size(64, 1, 1)
fn matmul_ksplit_sum(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                     @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * nwg.x) * 64u + li;
  let nq = params.n / 4u;
  let count = params.m * nq;
  if (i >= count) { return; }
  let slices = (params.k + params.k_chunk - 1u) / params.k_chunk;
  var v = partials4[i];
  for (var z = 1u; z < slices; z++) {
    v += partials4[z * count + i];
  }
  if (params.has_bias != 0u) {
    let c = 4u * (i % nq);
    v += vec4<f32>(bias[c], bias[c + 1u], bias[c + 2u], bias[c + 3u]);
  }
  if (ACCUMULATE) { v += c4[i]; }
  c4[i] = act_epilogue4(v, params.alpha);
}
