// concat: concatenation along axis 1 (the features of (B, F) rows, or the
// channels of (B, C, H, W) maps), one input per dispatch, and its backward,
// the split, which hands each input its slice of the gradient.
//
// concat_forward    y[o, offset + j] = x[o, j]
// concat_backward   dx[o, j] = dy[o, offset + j]
//                   (dx += with accumulate = 1; the caller then initializes dx)
//
// Shapes (row-major f32), every tensor seen as (outer, row):
//   x, dx: (outer, inner);  y, dy: (outer, total), offset + inner ≤ total.
// Input i of (B, C_i, H, W) maps: outer = B, inner = C_i·H·W,
// total = (Σ_k C_k)·H·W, offset = (Σ_{k<i} C_k)·H·W ((B, F_i) rows alike, with
// H·W = 1). The inputs' dispatches write disjoint parts of y, so their order
// does not matter.
//
// Work split: a workgroup of 256 invocations covers 1024 consecutive elements
// of x (forward) or dx (backward), invocation l taking base + l + 256·k,
// k = 0..3. Dispatch: grid1d(outer·inner, 1024): workgroup index
// wg.x + wg.y · num_workgroups.x.

struct Params {
  outer: u32,
  inner: u32,
  total: u32,
  offset: u32,
  accumulate: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

const WG: u32 = 256u;
const PER_THREAD: u32 = 4u;

fn first_element(wg: vec3u, nwg: vec3u, li: u32) -> u32 {
  return (wg.x + wg.y * nwg.x) * (WG * PER_THREAD) + li;
}

// The index in (outer, total) of element i of (outer, inner).
fn wide_index(i: u32) -> u32 {
  let o = i / params.inner;
  return o * params.total + params.offset + (i - o * params.inner);
}

@compute @workgroup_size(256, 1, 1)
fn concat_forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) li: u32) {
  let count = params.outer * params.inner;
  let base = first_element(wg, nwg, li);
  for (var k = 0u; k < PER_THREAD; k++) {
    let i = base + k * WG;
    if (i < count) {
      y[wide_index(i)] = x[i];
    }
  }
}

@compute @workgroup_size(256, 1, 1)
fn concat_backward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                   @builtin(local_invocation_index) li: u32) {
  let count = params.outer * params.inner;
  let base = first_element(wg, nwg, li);
  for (var k = 0u; k < PER_THREAD; k++) {
    let i = base + k * WG;
    if (i < count) {
      let g = dy[wide_index(i)];
      if (params.accumulate != 0u) {
        dx[i] = dx[i] + g;
      } else {
        dx[i] = g;
      }
    }
  }
}
