// reduce_vec4: the partial stage of reduce.wgsl's sum of squares over vec4 loads.
// requires: reduce_tree.wgsl
//
// sum_squares_partial4: workgroup g covers the 4096 elements [4096·g, 4096·g + 4096)
//   of x, as reduce.wgsl's sum_squares_partial, read as the 1024 vec4
//   x4[1024·g + l + TREE_WG·k], k < 1024 / TREE_WG, by invocation l: each
//   invocation keeps a vec4 of sums, adds its four lanes in order, then the
//   tree gives partials[g]. The chunks are those of sum_squares_partial, so
//   sum_squares_final completes both alike; the order within a chunk is fixed,
//   so results are bit-identical from run to run.
// Shapes: x4 (n / 4) vec4: n a multiple of 4 and the binding 16-byte aligned
//   (src/kernels/reduce.ts uses reduce.wgsl otherwise). Where every load is a
//   per-lane gather (SwiftShader) this is a quarter of the loads.
// Dispatch grid1d(n, 4096); partials holds ceil(n / 4096) values.

struct Params {
  n: u32,
}

@group(0) @binding(0) var<storage, read> x4: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> partials: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

const SQ_CHUNK4: u32 = 1024u;

@compute @workgroup_size(TREE_WG, 1, 1)
fn sum_squares_partial4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                        @builtin(local_invocation_index) li: u32) {
  let g = wg.x + wg.y * nwg.x;
  let base = g * SQ_CHUNK4;
  let n4 = params.n / 4u;
  var s = vec4f();
  for (var k = 0u; k < SQ_CHUNK4 / TREE_WG; k++) {
    let j = min(base + li + k * TREE_WG, n4 - 1u);
    let v = select(vec4f(), x4[j], base + li + k * TREE_WG < n4);
    s = fma(v, v, s);
  }
  scratch[li] = (s.x + s.y) + (s.z + s.w);
  let total = tree_sum(li);
  if (li == 0u && base < n4) {
    partials[g] = total;
  }
}
