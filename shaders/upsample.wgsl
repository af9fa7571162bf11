// upsample: nearest-neighbour upsampling of NCHW feature maps by an integer
// factor s (PyTorch nn.Upsample(scale_factor=s, mode='nearest')), and its
// backward, which sums the gradient over each s×s block.
//
// upsample_nearest2d_forward
//   y[p, oy, ox] = x[p, oy / s, ox / s]          (integer division)
//   Each invocation owns input elements and writes their s×s blocks.
// upsample_nearest2d_backward
//   dx[p, iy, ix] = Σ_{a, b < s} dy[p, iy·s + a, ix·s + b]
//   (dx += that sum with ACCUMULATE; the caller then initializes dx).
//   A gather: each invocation owns one dx element and adds its block in a
//   fixed order (rows, then columns), so the result is the same every run.
//
// Shapes (row-major f32), p running over the N·C planes:
//   x, dx: (N·C, H, W);  y, dy: (N·C, H·s, W·s).
// The factor s (S) and the accumulate rule are pipeline constants
// (src/kernels/upsample.ts): the block loops unroll, and an adapter that runs
// both sides of a uniform branch (SwiftShader) does not.
//
// Work split: a workgroup of 256 invocations covers 1024 consecutive
// elements of x (both entry points), invocation l taking base + l + 256·k,
// k = 0..3 (neighbouring invocations on neighbouring elements).
// Dispatch: grid1d(N·C·H·W, 1024): workgroup index wg.x + wg.y · num_workgroups.x.

struct Params {
  planes: u32,
  h: u32,
  w: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

override S: u32 = 2u;
override ACCUMULATE: bool = false;

const WG: u32 = 256u;
const PER_THREAD: u32 = 4u;

fn first_element(wg: vec3u, nwg: vec3u, li: u32) -> u32 {
  return (wg.x + wg.y * nwg.x) * (WG * PER_THREAD) + li;
}

@compute @workgroup_size(256, 1, 1)
fn upsample_nearest2d_forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                              @builtin(local_invocation_index) li: u32) {
  let ow = params.w * S;
  let count = params.planes * params.h * params.w;
  let base = first_element(wg, nwg, li);
  for (var k = 0u; k < PER_THREAD; k++) {
    let i = base + k * WG;
    if (i < count) {
      let row = i / params.w; // p·H + iy
      let ix = i - row * params.w;
      let v = x[i];
      // y's row p·OH + iy·s is row·s: the block starts at (row·s)·OW + ix·s.
      var j = row * S * ow + ix * S;
      for (var a = 0u; a < S; a++) {
        for (var b = 0u; b < S; b++) {
          y[j + b] = v;
        }
        j += ow;
      }
    }
  }
}

@compute @workgroup_size(256, 1, 1)
fn upsample_nearest2d_backward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                               @builtin(local_invocation_index) li: u32) {
  let ow = params.w * S;
  let count = params.planes * params.h * params.w;
  let base = first_element(wg, nwg, li);
  for (var k = 0u; k < PER_THREAD; k++) {
    let i = base + k * WG;
    if (i < count) {
      let row = i / params.w; // p·H + iy
      let ix = i - row * params.w;
      // dy's row p·OH + iy·s is row·s: the block starts at (row·s)·OW + ix·s.
      var j = row * S * ow + ix * S;
      var sum = 0.0;
      for (var a = 0u; a < S; a++) {
        for (var b = 0u; b < S; b++) {
          sum += dy[j + b];
        }
        j += ow;
      }
      if (ACCUMULATE) {
        dx[i] = dx[i] + sum;
      } else {
        dx[i] = sum;
      }
    }
  }
}
