// repeat: the same row at every step of a new axis, x (B, F) → y (B, T, F):
// y[b, t, f] = x[b, f] (a latent code fed to every step of a sequence
// decoder), and its backward, the sum over the steps:
//     dx[b, f] = Σ_t dy[b, t, f]   (dx += with accumulate = 1; the caller then initializes dx)
//
// Shapes: x, dx: (B, F); y, dy: (B, T, F), row-major f32.
// repeat_forward: one invocation per element of y; grid1d(B·T·F, 256).
// repeat_backward: one invocation per element of dx, summing its T values in
// order (deterministic); grid1d(B·F, 256).

struct Params {
  batch: u32,
  times: u32,
  features: u32,
  accumulate: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

fn flat(wg: vec3u, nwg: vec3u, li: u32) -> u32 {
  return (wg.x + wg.y * nwg.x) * 256u + li;
}

@compute @workgroup_size(256, 1, 1)
fn repeat_forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) li: u32) {
  let i = flat(wg, nwg, li);
  let F = params.features;
  let T = params.times;
  if (i >= params.batch * T * F) { return; }
  let b = i / (T * F);
  let f = i - (i / F) * F;
  y[i] = x[b * F + f];
}

@compute @workgroup_size(256, 1, 1)
fn repeat_backward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                   @builtin(local_invocation_index) li: u32) {
  let i = flat(wg, nwg, li);
  let F = params.features;
  let T = params.times;
  if (i >= params.batch * F) { return; }
  let b = i / F;
  let f = i - b * F;
  var s = 0.0;
  for (var t = 0u; t < T; t++) { s += dy[(b * T + t) * F + f]; }
  if (params.accumulate != 0u) {
    dx[i] = dx[i] + s;
  } else {
    dx[i] = s;
  }
}
