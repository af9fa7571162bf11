// block_share: the eight Bk of a block_mma.wgsl step shared through subgroup
// broadcasts, for kernels whose four invocations of a workgroup (one
// subgroup, lanes 0..3) need the same Bk at every step: the lane with
// subgroup_invocation_id s (mod 4) loads Bk s as `lo` and Bk s + 4 as `hi`,
// and every lane takes all eight from lanes 0..3, a quarter of the loads.
// Callers stay in uniform control flow around it. No bindings.
// requires: matmul_subgroups_enable.wgsl

// The eight Bk of a step from the pairs (lo, hi) loaded by lanes 0..3.
fn share_b(lo: mat4x4<f32>, hi: mat4x4<f32>, bk: ptr<function, array<mat4x4<f32>, 8>>) {
  (*bk)[0] = mat4x4<f32>(subgroupBroadcast(lo[0], 0u), subgroupBroadcast(lo[1], 0u), subgroupBroadcast(lo[2], 0u), subgroupBroadcast(lo[3], 0u));
  (*bk)[1] = mat4x4<f32>(subgroupBroadcast(lo[0], 1u), subgroupBroadcast(lo[1], 1u), subgroupBroadcast(lo[2], 1u), subgroupBroadcast(lo[3], 1u));
  (*bk)[2] = mat4x4<f32>(subgroupBroadcast(lo[0], 2u), subgroupBroadcast(lo[1], 2u), subgroupBroadcast(lo[2], 2u), subgroupBroadcast(lo[3], 2u));
  (*bk)[3] = mat4x4<f32>(subgroupBroadcast(lo[0], 3u), subgroupBroadcast(lo[1], 3u), subgroupBroadcast(lo[2], 3u), subgroupBroadcast(lo[3], 3u));
  (*bk)[4] = mat4x4<f32>(subgroupBroadcast(hi[0], 0u), subgroupBroadcast(hi[1], 0u), subgroupBroadcast(hi[2], 0u), subgroupBroadcast(hi[3], 0u));
  (*bk)[5] = mat4x4<f32>(subgroupBroadcast(hi[0], 1u), subgroupBroadcast(hi[1], 1u), subgroupBroadcast(hi[2], 1u), subgroupBroadcast(hi[3], 1u));
  (*bk)[6] = mat4x4<f32>(subgroupBroadcast(hi[0], 2u), subgroupBroadcast(hi[1], 2u), subgroupBroadcast(hi[2], 2u), subgroupBroadcast(hi[3], 2u));
  (*bk)[7] = mat4x4<f32>(subgroupBroadcast(hi[0], 3u), subgroupBroadcast(hi[1], 3u), subgroupBroadcast(hi[2], 3u), subgroupBroadcast(hi[3], 3u));
}
