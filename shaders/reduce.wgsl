// reduce: deterministic sums (bias gradients, squared norms) and a fill.
//
// sum_axes: x viewed as (outer, C, inner) row-major → out (C):
//   out[c] = scale · Σ_o Σ_i x[(o·C + c)·inner + i]        (accumulate = 0)
//   out[c] += scale · Σ_o Σ_i x[(o·C + c)·inner + i]       (accumulate = 1; the
//                                                           caller initializes out)
//   Bias gradients: dense dY (B, C) is outer = B, inner = 1; conv dY (N, C, H·W)
//   is outer = N, inner = H·W. A mean is scale = 1 / (outer·inner).
//   Two schedules, chosen by the caller from the shapes (src/kernels/reduce.ts:
//   narrow when outer·inner ≤ 512):
//   sum_axes         one workgroup of TREE_WG per channel: invocation l adds
//                    the channel's elements e = l, l + TREE_WG, ...
//                    (e = o·inner + i) in order, eight per loop trip, then a fixed tree in
//                    workgroup memory halves TREE_WG partial sums to one. Dispatch: grid1d(C, 1)
//                    (channel = wg.x + wg.y·num_workgroups.x).
//   sum_axes_narrow  one invocation per channel adds its outer·inner elements
//                    in order (o outer, i inner): for few elements per
//                    channel and many channels (a dense dY (B, C) with inner = 1
//                    reads whole rows, coalesced). Dispatch: grid1d(C, 256).
//   Either way the order of every addition is fixed by the shapes alone, so
//   results are bit-identical from run to run.
//
// sum_squares_partial + sum_squares_final: ss = Σ_j x[j]², j < n, in two stages
//   (for gradient-norm clipping):
//   partial: workgroup g covers the 4096 elements [4096·g, 4096·g + 4096):
//            invocation l adds the squares of elements 4096·g + l + TREE_WG·k,
//            k < 4096 / TREE_WG, and writes partials[TREE_WG·g + l]. No tree
//            and no barrier: on CPU adapters a barrier is a fiber switch per
//            SIMD group, which cost more than the sums. Dispatch grid1d(n, 4096);
//            the partials buffer holds ceil(n / 4096)·TREE_WG values (`count`).
//   final:   one workgroup sums partials_in[0..count) the same way and writes
//            out[0] = total, or out[0] += total with accumulate = 1 (to sum
//            several buffers into one scalar; the first call overwrites).
//            Dispatch (1, 1, 1).
//   Fixed partition and fixed tree: deterministic as above (for one TREE_WG,
//   which the TypeScript side fixes per adapter). reduce_vec4.wgsl has the
//   partial stage over vec4 loads, with the same chunks and partials.
//
// fill: out[j] = value for j < n. 1024 elements per workgroup (4 per
//   invocation, as activations.wgsl); dispatch grid1d(n, 1024).
//
// Params used per entry point (the others are ignored):
//   sum_axes, sum_axes_narrow: outer, channels, inner, scale, accumulate
//   sum_squares_partial: n;  sum_squares_final: count, accumulate;  fill: n, value

struct Params {
  outer: u32,
  channels: u32,
  inner: u32,
  n: u32,
  count: u32,
  scale: f32,
  value: f32,
  accumulate: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> partials_in: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

const WG: u32 = 256u;
const SQ_CHUNK: u32 = 4096u;
const FILL_PER_THREAD: u32 = 4u;
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

// Offset in x of element e = o·inner + i of channel c.
fn channel_offset(c: u32, e: u32) -> u32 {
  let o = e / params.inner;
  return (o * params.channels + c) * params.inner + (e - o * params.inner);
}

// Element e of channel c, or zero past the last element (index `last`).
fn element_or_zero(c: u32, e: u32, last: u32) -> f32 {
  return select(0.0, x[channel_offset(c, min(e, last))], e <= last);
}

@compute @workgroup_size(TREE_WG, 1, 1)
fn sum_axes(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
            @builtin(local_invocation_index) li: u32) {
  let c = wg.x + wg.y * nwg.x;
  let inner = params.inner;
  let count = params.outer * inner;
  var s = 0.0;
  if (c < params.channels) {
    // Eight elements per trip (e, e + TREE_WG, ..., e + 7·TREE_WG), added to
    // s in that order, zeros past the end: the sums of a one-element loop (a
    // −0 sum aside) in an eighth of its trips (on CPU adapters a trip cost
    // about as much as its load).
    let last = count - 1u;
    for (var e = li; e < count; e += 8u * TREE_WG) {
      s += x[channel_offset(c, e)];
      s += element_or_zero(c, e + TREE_WG, last);
      s += element_or_zero(c, e + 2u * TREE_WG, last);
      s += element_or_zero(c, e + 3u * TREE_WG, last);
      s += element_or_zero(c, e + 4u * TREE_WG, last);
      s += element_or_zero(c, e + 5u * TREE_WG, last);
      s += element_or_zero(c, e + 6u * TREE_WG, last);
      s += element_or_zero(c, e + 7u * TREE_WG, last);
    }
  }
  scratch[li] = s;
  let total = tree_sum(li);
  if (li == 0u && c < params.channels) {
    var v = params.scale * total;
    if (params.accumulate != 0u) { v = out[c] + v; }
    out[c] = v;
  }
}

@compute @workgroup_size(256, 1, 1)
fn sum_axes_narrow(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                   @builtin(local_invocation_index) li: u32) {
  let c = (wg.x + wg.y * nwg.x) * WG + li;
  if (c >= params.channels) { return; }
  let inner = params.inner;
  var s = 0.0;
  for (var o = 0u; o < params.outer; o++) {
    let row = (o * params.channels + c) * inner;
    for (var i = 0u; i < inner; i++) {
      s += x[row + i];
    }
  }
  var v = params.scale * s;
  if (params.accumulate != 0u) { v = out[c] + v; }
  out[c] = v;
}

@compute @workgroup_size(TREE_WG, 1, 1)
fn sum_squares_partial(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                       @builtin(local_invocation_index) li: u32) {
  let g = wg.x + wg.y * nwg.x;
  let base = g * SQ_CHUNK;
  var s = 0.0;
  for (var k = 0u; k < SQ_CHUNK / TREE_WG; k++) {
    let j = base + li + k * TREE_WG;
    if (j < params.n) {
      let v = x[j];
      s += v * v;
    }
  }
  if (base < params.n) {
    partials[g * TREE_WG + li] = s;
  }
}

@compute @workgroup_size(TREE_WG, 1, 1)
fn sum_squares_final(@builtin(local_invocation_index) li: u32) {
  var s = 0.0;
  for (var j = li; j < params.count; j += TREE_WG) {
    s += partials_in[j];
  }
  scratch[li] = s;
  let total = tree_sum(li);
  if (li == 0u) {
    var v = total;
    if (params.accumulate != 0u) { v = out[0] + v; }
    out[0] = v;
  }
}

@compute @workgroup_size(256, 1, 1)
fn fill(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let base = (wg.x + wg.y * nwg.x) * (WG * FILL_PER_THREAD) + li;
  for (var k = 0u; k < FILL_PER_THREAD; k++) {
    let j = base + k * WG;
    if (j < params.n) {
      out[j] = params.value;
    }
  }
}
