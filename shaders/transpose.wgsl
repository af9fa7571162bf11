// transpose: swaps the last two axes of a batch of matrices, x (B, R, C) →
// y (B, C, R): y[b, c, r] = x[b, r, c]. Its backward is the same swap of the
// gradient, dx (B, R, C) ← dy (B, C, R) (the caller runs transpose_forward on
// dy with R and C exchanged), or dx += that with accumulate = 1 (the caller
// then initializes dx).
//
// Shapes: x: (B, R, C), y: (B, C, R), row-major f32.
// One invocation per output element, the output read in order (coalesced
// writes, strided reads); dispatch grid1d(B·R·C, 256): workgroup index
// wg.x + wg.y · num_workgroups.x.

struct Params {
  batch: u32,
  rows: u32,
  cols: u32,
  accumulate: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(256, 1, 1)
fn transpose_forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                     @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * nwg.x) * 256u + li;
  let R = params.rows;
  let C = params.cols;
  if (i >= params.batch * R * C) { return; }
  let b = i / (R * C);
  let rest = i - b * R * C;
  let c = rest / R;
  let r = rest - c * R;
  let v = x[(b * R + r) * C + c];
  if (params.accumulate != 0u) {
    y[i] = y[i] + v;
  } else {
    y[i] = v;
  }
}
