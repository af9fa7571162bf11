// norm: group normalization and layer normalization (PyTorch's nn.GroupNorm
// and nn.LayerNorm with their affine weight and bias), forward and backward.
//
// x is viewed as `rows` rows of `size` consecutive elements, each row
// normalized on its own, then scaled and shifted per parameter p:
//   mean_r = (1/size)·Σ_j x[r, j]
//   var_r  = (1/size)·Σ_j (x[r, j] − mean_r)²          (biased, as PyTorch)
//   rstd_r = 1 / sqrt(var_r + eps)
//   xhat[f] = (x[f] − mean_r)·rstd_r
//   y[f]    = xhat[f]·weight[p(f)] + bias[p(f)],   p(f) = (f mod (channels·inner)) / inner
// for the flat index f = r·size + j.
//   group norm of (N, C, S) (S = H·W, or 1 for (N, C)) with G groups:
//     rows = N·G, size = (C/G)·S, channels = C, inner = S (one weight per channel);
//   layer norm over the trailing M elements of each sample (or of each row):
//     rows = numel / M, size = M, channels = M, inner = 1 (one weight per element).
// Both have size a multiple of inner and channels a multiple of size / inner,
// so row r starts at parameter (r mod (channels·inner / size))·(size / inner)
// and parameter p's elements lie in rows o·(channels·inner / size) + p / (size / inner).
//
// Stability: every row is shifted by its first element x0 before it is
// summed, d = x − x0, and normalized in two passes (the mean of d, then
// Σ (d − d̄)²), so the rounding of the mean scales with the spread of the row
// and not with its magnitude: at x ≈ 10⁴ + N(0, 1) a one-pass E[x²] − E[x]²
// in f32 has lost every digit of the variance, and even an unshifted two-pass
// is off by 10⁻⁴·σ or more, since an f32 mean near 10⁴ is rounded to a
// multiple of 2⁻¹⁰ (test/ref/norm.test.ts shows both).
//
// stats: (rows, 2) = [d̄_r = mean_r − x0_r, rstd_r], written by norm_forward
// for the backward (which reads x0_r = x[r·size] again from x).
//
// Backward, with g = dy·weight[p]:
//   dx[r, j]  = rstd_r·(g − mean_j(g) − xhat·mean_j(g·xhat))     (norm_backward_input)
//   dweight[p] = Σ_{f: p(f) = p} dy[f]·xhat[f],  dbias[p] = Σ_{f: p(f) = p} dy[f]
//                                                                 (norm_backward_params)
//   With accumulate = 1 each adds into its outputs (the caller initializes them).
//
// Shapes (row-major f32): x, y, dy, dx: (rows·size); weight, bias, dweight,
// dbias: (channels); stats: (rows, 2).
//
// Dispatch:
//   norm_forward, norm_backward_input: one workgroup of WG invocations per
//     row (r = wg.x + wg.y·num_workgroups.x, grid1d(rows, 1)); invocation l
//     takes j = l, l + WG, ... in order, then a fixed halving tree in
//     workgroup memory. Any size works: a row of 50,176 elements is 196
//     elements per invocation at WG = 256.
//   norm_backward_params: x viewed as (outer, channels, inner),
//     outer = rows·size / (channels·inner). One workgroup per parameter
//     (grid1d(channels, 1)) sums its outer·inner elements e = l, l + WG, ...
//     (e = o·inner + i), then the tree.
//   norm_backward_params_narrow: one invocation per parameter sums its
//     elements in order (o outer, i inner): for few elements per parameter and
//     many parameters (layer norm of (B, F)). Dispatch grid1d(channels, 256).
//   Every sum has an order fixed by the shapes and WG alone: results are
//   bit-identical from run to run.

struct Params {
  rows: u32,
  size: u32,
  channels: u32,
  inner: u32,
  outer: u32,
  eps: f32,
  accumulate: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> stats_in: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(0) @binding(6) var<storage, read_write> stats: array<f32>;
@group(0) @binding(7) var<storage, read_write> dx: array<f32>;
@group(0) @binding(8) var<storage, read_write> dweight: array<f32>;
@group(0) @binding(9) var<storage, read_write> dbias: array<f32>;
@group(0) @binding(10) var<uniform> params: Params;

// Invocations per workgroup of every entry point but the narrow one: a power
// of two from 4 to 256. On CPU adapters each barrier is a fiber switch per
// SIMD group, so src/kernels/norm.ts picks a small one there.
override WG: u32 = 256u;
const NARROW_WG: u32 = 256u;

var<workgroup> scratch_a: array<f32, 256>;
var<workgroup> scratch_b: array<f32, 256>;

// Sums v over the workgroup by a fixed halving tree and returns the total to
// every invocation. Every invocation must call it (it contains barriers).
fn tree_sum(li: u32, v: f32) -> f32 {
  scratch_a[li] = v;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (li < stride) {
      scratch_a[li] = scratch_a[li] + scratch_a[li + stride];
    }
    workgroupBarrier();
  }
  let total = scratch_a[0];
  workgroupBarrier(); // every invocation has read the total before scratch_a is written again
  return total;
}

// The same for two values at once (one tree of barriers for both).
fn tree_sum2(li: u32, u: f32, v: f32) -> vec2f {
  scratch_a[li] = u;
  scratch_b[li] = v;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (li < stride) {
      scratch_a[li] = scratch_a[li] + scratch_a[li + stride];
      scratch_b[li] = scratch_b[li] + scratch_b[li + stride];
    }
    workgroupBarrier();
  }
  let total = vec2f(scratch_a[0], scratch_b[0]);
  workgroupBarrier();
  return total;
}

// Walks of an invocation over the elements l, l + WG, l + 2·WG, ... of a
// row (or of a parameter's elements) as pairs (q, i) = (j / inner, j mod inner),
// kept by additions: an integer division per element costs more than the
// rest of the work on CPU adapters. `step` is (WG / inner, WG mod inner).
fn walk_step() -> vec2u {
  return vec2u(WG / params.inner, WG % params.inner);
}

fn walk_start(li: u32) -> vec2u {
  return vec2u(li / params.inner, li % params.inner);
}

fn walk_next(w: vec2u, step: vec2u) -> vec2u {
  let i = w.y + step.y;
  let wrap = i >= params.inner;
  return vec2u(w.x + step.x + select(0u, 1u, wrap), select(i, i - params.inner, wrap));
}

// The first parameter of row r: rows cover size / inner consecutive
// parameters each (C/G channels of a group; the M elements of a layer norm row).
fn first_param(r: u32) -> u32 {
  let per_row = params.size / params.inner;
  return (r % (params.channels / per_row)) * per_row;
}

@compute @workgroup_size(WG, 1, 1)
fn norm_forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                @builtin(local_invocation_index) li: u32) {
  let r = wg.x + wg.y * nwg.x;
  let live = r < params.rows;
  let size = params.size;
  let count = select(0u, size, live); // spare workgroups of a 2-D grid take no elements
  let base = r * size;
  var x0 = 0.0;
  if (live) { x0 = x[base]; }
  var s = 0.0;
  for (var j = li; j < count; j += WG) {
    s += x[base + j] - x0;
  }
  let mean_d = tree_sum(li, s) / f32(size);
  var q = 0.0;
  for (var j = li; j < count; j += WG) {
    let d = (x[base + j] - x0) - mean_d;
    q = d * d + q;
  }
  let rstd = 1.0 / sqrt(tree_sum(li, q) / f32(size) + params.eps);
  let step = walk_step();
  let p0 = first_param(r);
  var w = walk_start(li);
  for (var j = li; j < count; j += WG) {
    let f = base + j;
    let p = p0 + w.x;
    let xhat = ((x[f] - x0) - mean_d) * rstd;
    y[f] = xhat * weight[p] + bias[p];
    w = walk_next(w, step);
  }
  if (live && li == 0u) {
    stats[2u * r] = mean_d;
    stats[2u * r + 1u] = rstd;
  }
}

@compute @workgroup_size(WG, 1, 1)
fn norm_backward_input(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                       @builtin(local_invocation_index) li: u32) {
  let r = wg.x + wg.y * nwg.x;
  let live = r < params.rows;
  let size = params.size;
  let count = select(0u, size, live);
  let base = r * size;
  var x0 = 0.0;
  var mean_d = 0.0;
  var rstd = 0.0;
  if (live) {
    x0 = x[base];
    mean_d = stats_in[2u * r];
    rstd = stats_in[2u * r + 1u];
  }
  let step = walk_step();
  let p0 = first_param(r);
  var sg = 0.0;
  var sgx = 0.0;
  var w = walk_start(li);
  for (var j = li; j < count; j += WG) {
    let f = base + j;
    let g = dy[f] * weight[p0 + w.x];
    let xhat = ((x[f] - x0) - mean_d) * rstd;
    sg += g;
    sgx = g * xhat + sgx;
    w = walk_next(w, step);
  }
  let means = tree_sum2(li, sg, sgx) / f32(size);
  w = walk_start(li);
  for (var j = li; j < count; j += WG) {
    let f = base + j;
    let g = dy[f] * weight[p0 + w.x];
    let xhat = ((x[f] - x0) - mean_d) * rstd;
    var v = rstd * (g - means.x - xhat * means.y);
    if (params.accumulate != 0u) { v = dx[f] + v; }
    dx[f] = v;
    w = walk_next(w, step);
  }
}

// dy[f] and xhat[f] of element (o, i) of parameter p, f = (o·channels + p)·inner + i,
// in row r = o·(rows per outer index) + p / (parameters per row), given as
// o·rows_per_o + row_of_p.
fn dy_xhat(p: u32, o: u32, i: u32, rows_per_o: u32, row_of_p: u32) -> vec2f {
  let f = (o * params.channels + p) * params.inner + i;
  let r = o * rows_per_o + row_of_p;
  let xhat = ((x[f] - x[r * params.size]) - stats_in[2u * r]) * stats_in[2u * r + 1u];
  return vec2f(dy[f], xhat);
}

fn write_params(p: u32, sum_dy: f32, sum_dy_xhat: f32) {
  var db = sum_dy;
  var dw = sum_dy_xhat;
  if (params.accumulate != 0u) {
    db = dbias[p] + db;
    dw = dweight[p] + dw;
  }
  dbias[p] = db;
  dweight[p] = dw;
}

@compute @workgroup_size(WG, 1, 1)
fn norm_backward_params(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                        @builtin(local_invocation_index) li: u32) {
  let p = wg.x + wg.y * nwg.x;
  let live = p < params.channels;
  let count = select(0u, params.outer * params.inner, live);
  let per_row = params.size / params.inner;
  let rows_per_o = params.channels / per_row;
  let row_of_p = p / per_row;
  let step = walk_step();
  var w = walk_start(li); // (o, i) of element e = o·inner + i
  var sb = 0.0;
  var sw = 0.0;
  for (var e = li; e < count; e += WG) {
    let t = dy_xhat(p, w.x, w.y, rows_per_o, row_of_p);
    sb += t.x;
    sw = t.x * t.y + sw;
    w = walk_next(w, step);
  }
  let total = tree_sum2(li, sb, sw);
  if (live && li == 0u) {
    write_params(p, total.x, total.y);
  }
}

@compute @workgroup_size(256, 1, 1) // NARROW_WG
fn norm_backward_params_narrow(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                               @builtin(local_invocation_index) li: u32) {
  let p = (wg.x + wg.y * nwg.x) * NARROW_WG + li;
  if (p >= params.channels) { return; }
  let per_row = params.size / params.inner;
  let rows_per_o = params.channels / per_row;
  let row_of_p = p / per_row;
  var sb = 0.0;
  var sw = 0.0;
  for (var o = 0u; o < params.outer; o++) {
    for (var i = 0u; i < params.inner; i++) {
      let t = dy_xhat(p, o, i, rows_per_o, row_of_p);
      sb += t.x;
      sw = t.x * t.y + sw;
    }
  }
  write_params(p, sb, sw);
}
