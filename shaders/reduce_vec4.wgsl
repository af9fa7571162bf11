// reduce_vec4: reduce.wgsl's narrow per-channel sum and the partial stage of
// its sum of squares, over vec4 loads.
//
// sum_axes_narrow4: sum_axes_narrow for inner = 1 (a dense dY (B, C)), four
//   channels per invocation: out4[q] = scale · Σ_o x4[o·C/4 + q] (or +=
//   with accumulate = 1), each lane in order of o as sum_axes_narrow, four
//   rows per loop trip (zeros past the last row), so the results are
//   bit-identical to it (but for the sign of a zero sum). C must be a multiple of 4. NARROW_WG
//   invocations per workgroup: 256 on GPUs, 16 under the cpu profile, where
//   a workgroup runs on one thread (a dense dY of 8448 × 384 is 96
//   invocations: one workgroup of 256 would leave the other cores idle).
//   Dispatch grid1d(C / 4, NARROW_WG).
//
// sum_squares_partial4: workgroup g covers the 4096 elements [4096·g, 4096·g + 4096)
//   of x, as reduce.wgsl's sum_squares_partial, read as the 1024 vec4
//   x4[1024·g + l + TREE_WG·k], k < 1024 / TREE_WG, by invocation l: each
//   invocation keeps a vec4 of sums, adds its four lanes in order and writes
//   partials[TREE_WG·g + l] (no barrier). Chunks and partials are those of
//   sum_squares_partial, so sum_squares_final completes both alike; the
//   order of every addition is fixed, so results are bit-identical from run to run.
// Shapes: x4 (n / 4) vec4 (sum_squares_partial4): n a multiple of 4 and the binding 16-byte aligned
//   (src/kernels/reduce.ts uses reduce.wgsl otherwise). Where every load is a
//   per-lane gather (SwiftShader) this is a quarter of the loads.
// Dispatch grid1d(n, 4096); partials holds ceil(n / 4096)·TREE_WG values.

override TREE_WG: u32 = 256u;

struct Params {
  n: u32,
  outer: u32,
  channels: u32,
  scale: f32,
  accumulate: u32,
}

@group(0) @binding(0) var<storage, read> x4: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> out4: array<vec4f>;
@group(0) @binding(3) var<uniform> params: Params;

override NARROW_WG: u32 = 256u;

@compute @workgroup_size(NARROW_WG, 1, 1)
fn sum_axes_narrow4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                    @builtin(local_invocation_index) li: u32) {
  let q = (wg.x + wg.y * nwg.x) * NARROW_WG + li;
  let cq = params.channels / 4u;
  if (q >= cq) { return; }
  var s = vec4f();
  // Four rows per trip, added in order (a loop trip costs about as much as a load on CPU adapters).
  let last = params.outer - 1u;
  for (var o = 0u; o < params.outer; o += 4u) {
    s += x4[o * cq + q];
    s += select(vec4f(), x4[min(o + 1u, last) * cq + q], o + 1u <= last);
    s += select(vec4f(), x4[min(o + 2u, last) * cq + q], o + 2u <= last);
    s += select(vec4f(), x4[min(o + 3u, last) * cq + q], o + 3u <= last);
  }
  var v = params.scale * s;
  if (params.accumulate != 0u) { v = out4[q] + v; }
  out4[q] = v;
}

const SQ_CHUNK4: u32 = 1024u;

// x4[j]² componentwise, zero for j ≥ n4.
fn square_or_zero(j: u32, n4: u32) -> vec4f {
  let v = select(vec4f(), x4[min(j, n4 - 1u)], j < n4);
  return v * v;
}

@compute @workgroup_size(TREE_WG, 1, 1)
fn sum_squares_partial4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                        @builtin(local_invocation_index) li: u32) {
  let g = wg.x + wg.y * nwg.x;
  let base = g * SQ_CHUNK4;
  let n4 = params.n / 4u;
  var s = vec4f();
  // Four of the SQ_CHUNK4 / TREE_WG (a multiple of 4) loads per trip, added in order.
  for (var k = 0u; k < SQ_CHUNK4 / TREE_WG; k += 4u) {
    s += square_or_zero(base + li + k * TREE_WG, n4);
    s += square_or_zero(base + li + (k + 1u) * TREE_WG, n4);
    s += square_or_zero(base + li + (k + 2u) * TREE_WG, n4);
    s += square_or_zero(base + li + (k + 3u) * TREE_WG, n4);
  }
  if (base < n4) {
    partials[g * TREE_WG + li] = (s.x + s.y) + (s.z + s.w);
  }
}
