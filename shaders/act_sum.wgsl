// act_sum: a layer's fused activation backward and its bias gradient in one pass over dY.
// requires: activation_fns.wgsl
//
// dy and the saved output y viewed as (outer, C, inner) row-major (a conv's
// dY (N, C, H·W): outer = N, inner = H·W):
//   dpre[j] = dy[j] · f′(y[j])                           (f′ from the output y)
//   out[c]  = Σ_o Σ_i dpre[(o·C + c)·inner + i]          (accumulate = 0)
//   out[c] += Σ_o Σ_i dpre[(o·C + c)·inner + i]          (accumulate = 1)
// that is activation_backward_from_output (activations.wgsl) followed by
// sum_axes (reduce.wgsl), reading dy and y once and never reading dpre back.
// ACT is the activation's code (activation_fns.wgsl), params.alpha its parameter.
//
// One workgroup of TREE_WG invocations per channel (channel = wg.x + wg.y ·
// num_workgroups.x; dispatch grid1d(C, 1)); each invocation sums a share of
// the channel's elements in a fixed order, then a fixed halving tree in
// workgroup memory sums the TREE_WG partial sums: the order of every
// addition is fixed by the shapes, so results are bit-identical from run to
// run. Two shares (src/kernels/act-sum.ts picks one per adapter):
//   act_sum        invocation l visits e = l, l + TREE_WG, ... (e = o·inner + i),
//                  four per loop trip, stepping (o, i) by additions (no
//                  division per element): neighbouring invocations read
//                  neighbouring elements, coalesced on GPUs.
//   act_sum_rows4  invocation l takes the rows o = l, l + TREE_WG, ... whole,
//                  as vec4 (inner a multiple of 4, bindings dy4, y_saved4,
//                  dpre4): on CPU adapters, where every load is a per-lane
//                  gather and a vec4 costs about what a scalar does.

struct Params {
  outer: u32,
  channels: u32,
  inner: u32,
  accumulate: u32,
  alpha: f32,
}

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> y_saved: array<f32>;
@group(0) @binding(2) var<storage, read> dy4: array<vec4f>;
@group(0) @binding(3) var<storage, read> y_saved4: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> dpre: array<f32>;
@group(0) @binding(5) var<storage, read_write> dpre4: array<vec4f>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<uniform> params: Params;

override ACT: u32 = 1u;
// Invocations per workgroup: a power of two from 4 to 256 (src/kernels/reduce.ts'
// treeWorkgroupSize: 16 on CPU adapters, where each barrier is a fiber switch
// per SIMD group; 256 on GPUs).
override TREE_WG: u32 = 256u;

var<workgroup> scratch: array<f32, 256>;

// Writes invocation li's partial sum, sums the workgroup's by the fixed tree
// and stores (or adds) channel c's total. Every invocation calls it (barriers).
fn finish(li: u32, c: u32, s: f32) {
  scratch[li] = s;
  workgroupBarrier();
  for (var stride = TREE_WG / 2u; stride > 0u; stride = stride / 2u) {
    if (li < stride) {
      scratch[li] = scratch[li] + scratch[li + stride];
    }
    workgroupBarrier();
  }
  if (li == 0u && c < params.channels) {
    var v = scratch[0];
    if (params.accumulate != 0u) { v = out[c] + v; }
    out[c] = v;
  }
}

// The element at (o, i) of channel c through the activation's gradient,
// stored as dpre; zero (and nothing stored) at or past row `outer`.
fn visit(c: u32, o: u32, i: u32) -> f32 {
  if (o >= params.outer) { return 0.0; }
  let j = (o * params.channels + c) * params.inner + i;
  let g = dy[j] * act_grad_from_output(ACT, y_saved[j], params.alpha);
  dpre[j] = g;
  return g;
}

// (o, i) advanced by step_o rows and step_i more columns (step_i < inner),
// carrying into the next row.
fn advance(oi: vec2u, step_o: u32, step_i: u32) -> vec2u {
  let i = oi.y + step_i;
  let carry = select(0u, 1u, i >= params.inner);
  return vec2u(oi.x + step_o + carry, i - carry * params.inner);
}

@compute @workgroup_size(TREE_WG, 1, 1)
fn act_sum(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) li: u32) {
  let c = wg.x + wg.y * nwg.x;
  let inner = params.inner;
  let step_o = TREE_WG / inner;
  let step_i = TREE_WG - step_o * inner;
  var s = 0.0;
  if (c < params.channels) {
    var oi = vec2u(li / inner, li - (li / inner) * inner);
    loop {
      if (oi.x >= params.outer) { break; }
      s += visit(c, oi.x, oi.y);
      oi = advance(oi, step_o, step_i);
      s += visit(c, oi.x, oi.y);
      oi = advance(oi, step_o, step_i);
      s += visit(c, oi.x, oi.y);
      oi = advance(oi, step_o, step_i);
      s += visit(c, oi.x, oi.y);
      oi = advance(oi, step_o, step_i);
    }
  }
  finish(li, c, s);
}

@compute @workgroup_size(TREE_WG, 1, 1)
fn act_sum_rows4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) li: u32) {
  let c = wg.x + wg.y * nwg.x;
  let iq = params.inner / 4u;
  var s = vec4f();
  if (c < params.channels) {
    for (var o = li; o < params.outer; o += TREE_WG) {
      let row = (o * params.channels + c) * iq;
      for (var q = 0u; q < iq; q++) {
        let g = dy4[row + q] * act_grad_from_output4(ACT, y_saved4[row + q], params.alpha);
        dpre4[row + q] = g;
        s += g;
      }
    }
  }
  finish(li, c, (s.x + s.y) + (s.z + s.w));
}
