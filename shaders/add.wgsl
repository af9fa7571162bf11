// add: the elementwise sum of two tensors, the second broadcast over the
// trailing axes of the first, and the backward of the full-shape operand.
//
// add_forward    y_out[i] = a[i] + b[i / inner]
// add_backward   dx[i] = dy[i]   (dx += dy with ACCUMULATE; the caller
//                                  zeroes or initializes dx)
//
// Shapes: a, y_out, dy, dx: (n) flat f32; b: (n / inner). With inner = 1, b
// has a's shape (a residual sum); with a (B, C, H, W) and b (B, C),
// inner = H·W adds b[b, c] to every pixel of channel c of sample b. The
// gradient of b is then dy summed over those inner elements (sum_axes in
// reduce.wgsl), and for inner = 1 it is add_backward like a's.
//
// Whether b is broadcast (inner > 1) and the accumulate rule are pipeline
// constants (src/kernels/add.ts): a residual sum does no index division, and
// an adapter that runs both sides of a uniform branch (SwiftShader) does not.
//
// Work split: a workgroup of 256 invocations covers 1024 consecutive
// elements, invocation l taking base + l + 256·k, k = 0..3 (coalesced loads).
// Dispatch: grid1d(n, 1024): workgroup index wg.x + wg.y · num_workgroups.x.

struct Params {
  n: u32,
  inner: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> y_out: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

override BROADCAST: bool = false;
override ACCUMULATE: bool = false;

const WG: u32 = 256u;
const PER_THREAD: u32 = 4u;

fn first_element(wg: vec3u, nwg: vec3u, li: u32) -> u32 {
  return (wg.x + wg.y * nwg.x) * (WG * PER_THREAD) + li;
}

@compute @workgroup_size(256, 1, 1)
fn add_forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
               @builtin(local_invocation_index) li: u32) {
  let base = first_element(wg, nwg, li);
  for (var k = 0u; k < PER_THREAD; k++) {
    let i = base + k * WG;
    if (i < params.n) {
      if (BROADCAST) {
        y_out[i] = a[i] + b[i / params.inner];
      } else {
        y_out[i] = a[i] + b[i];
      }
    }
  }
}

@compute @workgroup_size(256, 1, 1)
fn add_backward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                @builtin(local_invocation_index) li: u32) {
  let base = first_element(wg, nwg, li);
  for (var k = 0u; k < PER_THREAD; k++) {
    let i = base + k * WG;
    if (i < params.n) {
      if (ACCUMULATE) {
        dx[i] = dx[i] + dy[i];
      } else {
        dx[i] = dy[i];
      }
    }
  }
}
