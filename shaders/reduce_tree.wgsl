// reduce_tree: the fixed halving tree over workgroup memory that ends the
// reduction kernels of reduce.wgsl and reduce_vec4.wgsl.
// No bindings: the including file declares its own.

// Invocations per workgroup of the kernels that end in a tree (sum_axes,
// sum_squares_*): a power of two from 4 to 256. Each barrier costs a fiber
// switch per SIMD group on CPU adapters, so src/kernels/reduce.ts picks 16
// there (more elements per invocation) and 256 on GPUs.
override TREE_WG: u32 = 256u;

var<workgroup> scratch: array<f32, 256>;

// Sums scratch[0..TREE_WG) into scratch[0] by a fixed halving tree. Every
// invocation of the workgroup must call it (it contains barriers).
fn tree_sum(li: u32) -> f32 {
  workgroupBarrier();
  for (var stride = TREE_WG / 2u; stride > 0u; stride = stride / 2u) {
    if (li < stride) {
      scratch[li] = scratch[li] + scratch[li + stride];
    }
    workgroupBarrier();
  }
  return scratch[0];
}
